import { Suspense, useEffect, useState, type ReactNode } from 'react';
import { NavLink, useLocation } from '../lib/router.js';
import { useAuth } from '../lib/auth.js';
import { CommandPalette } from './CommandPalette.js';
import { Loading } from './States.js';
import { useTheme } from './theme.js';

/** A top-level page of the console, in the order of the main navigation. */
export interface NavItem {
  to: string;
  label: string;
  /** Only shown to admins. */
  adminOnly?: boolean;
}

/** The main navigation. */
export const NAV_ITEMS: readonly NavItem[] = [
  { to: '/catalog', label: 'Catalog' },
  { to: '/sql', label: 'SQL' },
  { to: '/quality', label: 'Quality' },
  { to: '/lineage', label: 'Lineage' },
  { to: '/monitoring', label: 'Monitoring' },
  { to: '/admin', label: 'Admin', adminOnly: true },
];

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** The signed-in frame of every page: skip link, header with main navigation, search, theme and user; the page below. */
export function AppShell({ children }: { children: ReactNode }) {
  const { me, signOut } = useAuth();
  const [theme, setTheme] = useTheme();
  const [menuOpen, setMenuOpen] = useState(false);
  const [paletteOpen, setPaletteOpen] = useState(false);
  const location = useLocation();

  // Close the narrow-window menu after navigating.
  useEffect(() => setMenuOpen(false), [location.pathname]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setPaletteOpen((o) => !o);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const items = NAV_ITEMS.filter((i) => !i.adminOnly || me?.role === 'admin');
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/catalog" className="brand" aria-label="Lakehouse home">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          <span>Lakehouse</span>
        </NavLink>
        <button
          type="button"
          className="btn btn-ghost menu-toggle"
          aria-label="Menu"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          <span aria-hidden="true">☰</span> <span className="menu-label">Menu</span>
        </button>
        <nav id="main-nav" aria-label="Main" className={`mainnav ${menuOpen ? 'open' : ''}`}>
          <ul>
            {items.map((i) => (
              <li key={i.to}>
                <NavLink to={i.to} className={({ isActive }) => `navlink ${isActive || (i.to === '/catalog' && location.pathname.startsWith('/tables/')) ? 'active' : ''}`}>
                  {i.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="topbar-actions">
          <button
            type="button"
            className="btn search-trigger"
            onClick={() => setPaletteOpen(true)}
            aria-label="Search tables and columns"
            aria-keyshortcuts={isMac ? 'Meta+K' : 'Control+K'}
            title={`Search tables and columns (${isMac ? '⌘K' : 'Ctrl+K'})`}
          >
            <span aria-hidden="true">⌕</span>
            <span className="search-trigger-label">Search tables and columns</span>
            <kbd aria-hidden="true">{isMac ? '⌘K' : 'Ctrl K'}</kbd>
          </button>
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
            aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
            title={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
          >
            <span aria-hidden="true">{theme === 'dark' ? '☀' : '☾'}</span>
          </button>
          {me ? (
            <div className="user" role="group" aria-label="Signed-in user">
              <span className="user-name">{me.name}</span>
              <span className={`role-badge role-${me.role}`}>{me.role}</span>
              <button type="button" className="btn btn-ghost" onClick={() => signOut('You signed out.')}>
                Sign out
              </button>
            </div>
          ) : null}
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<Loading label="Loading page…" />}>{children}</Suspense>
      </main>
      <CommandPalette open={paletteOpen} onClose={() => setPaletteOpen(false)} />
    </div>
  );
}
