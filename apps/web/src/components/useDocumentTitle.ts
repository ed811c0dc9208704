import { useEffect } from 'react';

/** Sets the window title to `<title> · Lakehouse` while the calling page is shown. */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    const before = document.title;
    document.title = title ? `${title} · Lakehouse` : 'Lakehouse';
    return () => {
      document.title = before;
    };
  }, [title]);
}
