import { autocompletion, closeBrackets, closeBracketsKeymap, closeCompletion, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { PostgreSQL, sql, type SQLNamespace } from '@codemirror/lang-sql';
import { HighlightStyle, bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { EditorView, drawSelection, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, placeholder } from '@codemirror/view';
import { forwardRef, useEffect, useImperativeHandle, useRef } from 'react';
import { columnCompletionSource, functionCompletionSource } from './completion.js';

/** What the page can do with the editor. */
export interface SqlEditorHandle {
  /** The whole text. */
  getText(): string;
  /** Replaces the whole text (keeps the undo history). */
  setText(text: string): void;
  /** The selected text and its offset, or null when nothing is selected. */
  getSelection(): { text: string; from: number } | null;
  /** The cursor offset. */
  getCursor(): number;
  /** Marks an error at [from, to) with a message (a lint diagnostic), or clears the marks with null. */
  markError(error: { from: number; to: number; message: string } | null): void;
  /** Closes the completion list, also one still being computed (it would open over the editor while a query runs). */
  closeCompletion(): void;
  focus(): void;
}

/** Props of the editor: initial text, completion data, and what Ctrl/Cmd-Enter does. */
export interface SqlEditorProps {
  initialText: string;
  schema: SQLNamespace;
  /** Columns of the tables the SQL reads (completed without a qualifier). */
  columns: () => readonly { table: string; name: string; type: string }[];
  /** Ctrl/Cmd-Enter: run the selection, or everything. */
  onRun: () => void;
  /** Shift-Ctrl/Cmd-Enter: run the statement at the cursor. */
  onRunStatement: () => void;
  /** Called (debounced by the caller if needed) on every change of the text. */
  onChange?: (text: string) => void;
  /** Called when the selection becomes empty or non-empty. */
  onSelectionChange?: (hasSelection: boolean) => void;
  label?: string;
}

// The default highlight colours, through CSS variables so that sql.css can give the dark theme its own.
const themedHighlight = HighlightStyle.define(
  defaultHighlightStyle.specs.map((spec) => (typeof spec.color === 'string' ? { ...spec, color: `var(--cm-${spec.color.replace('#', '')}, ${spec.color})` } : spec)),
);

const editorTheme = EditorView.theme({
  '&': { backgroundColor: 'var(--surface)', color: 'var(--text)', fontSize: '13px', height: '100%' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.55' },
  '.cm-content': { caretColor: 'var(--text)', padding: '6px 0' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused': { outline: 'none' },
  '&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground': { backgroundColor: 'var(--cm-selection)' },
  '.cm-gutters': { backgroundColor: 'var(--surface-2)', color: 'var(--muted)', borderRight: '1px solid var(--border)' },
  '.cm-activeLine': { backgroundColor: 'var(--cm-active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--surface-3)' },
  '.cm-tooltip': { backgroundColor: 'var(--surface)', color: 'var(--text)', border: '1px solid var(--border-strong)', borderRadius: '6px' },
  '.cm-tooltip-autocomplete > ul > li[aria-selected]': { backgroundColor: 'var(--accent)', color: 'var(--accent-contrast)' },
  '.cm-completionDetail': { color: 'var(--muted)', marginLeft: '1em', fontStyle: 'normal' },
  '.cm-diagnostic-error': { borderLeftColor: 'var(--error)' },
  '.cm-lintRange-error': { backgroundImage: 'none', textDecoration: 'underline wavy var(--error)', textUnderlineOffset: '3px' },
  '.cm-placeholder': { color: 'var(--muted)' },
});

/** The SQL editor: CodeMirror 6 with SQL highlighting, table/column/function completion, run keys and error marks. */
export const SqlEditor = forwardRef<SqlEditorHandle, SqlEditorProps>(function SqlEditor(props, ref) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const latest = useRef(props);
  /** True while an error mark is shown. */
  const marked = useRef(false);
  /** The completion schema the editor's SQL language was last built with. */
  const builtFor = useRef<SQLNamespace | null>(null);
  latest.current = props;

  useEffect(() => {
    if (!host.current) return;
    let hadSelection = false;
    marked.current = false;
    const completionData = [{ autocomplete: functionCompletionSource }, { autocomplete: columnCompletionSource(() => latest.current.columns()) }];
    builtFor.current = latest.current.schema;
    const state = EditorState.create({
      doc: latest.current.initialText,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightActiveLine(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        syntaxHighlighting(themedHighlight),
        language.current.of(sql({ dialect: PostgreSQL, schema: latest.current.schema, upperCaseKeywords: true })),
        autocompletion({ override: undefined, activateOnTyping: true }),
        // The sources must keep their identity: the completion state tracks results per source function.
        EditorState.languageData.of(() => completionData),
        lintGutter(),
        placeholder('SELECT * FROM silver.sales.orders LIMIT 100'),
        EditorView.lineWrapping,
        Prec.highest(
          keymap.of([
            { key: 'Mod-Enter', run: () => (latest.current.onRun(), true), preventDefault: true },
            { key: 'Shift-Mod-Enter', run: () => (latest.current.onRunStatement(), true), preventDefault: true },
          ]),
        ),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) {
            latest.current.onChange?.(u.state.doc.toString());
            // A stale error mark is worse than none (cleared after this update: no dispatch inside one).
            if (marked.current) {
              marked.current = false;
              queueMicrotask(() => u.view.dispatch(setDiagnostics(u.view.state, [])));
            }
          }
          if (u.selectionSet) {
            const has = !u.state.selection.main.empty;
            if (has !== hadSelection) {
              hadSelection = has;
              latest.current.onSelectionChange?.(has);
            }
          }
        }),
        EditorView.contentAttributes.of({ 'aria-label': latest.current.label ?? 'SQL editor' }),
        editorTheme,
      ],
    });
    const v = new EditorView({ state, parent: host.current });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, []);

  useEffect(() => {
    // Not on mount: the editor was just built with this schema (a second build re-parses and re-highlights the text).
    if (!view.current || builtFor.current === props.schema) return;
    builtFor.current = props.schema;
    view.current.dispatch({ effects: language.current.reconfigure(sql({ dialect: PostgreSQL, schema: props.schema, upperCaseKeywords: true })) });
  }, [props.schema]);

  useImperativeHandle(
    ref,
    (): SqlEditorHandle => ({
      getText: () => view.current?.state.doc.toString() ?? '',
      setText: (text) => {
        const v = view.current;
        if (!v) return;
        v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text }, selection: { anchor: Math.min(text.length, v.state.selection.main.head) } });
      },
      getSelection: () => {
        const v = view.current;
        if (!v) return null;
        const { from, to } = v.state.selection.main;
        if (from === to) return null;
        return { text: v.state.sliceDoc(from, to), from };
      },
      getCursor: () => view.current?.state.selection.main.head ?? 0,
      markError: (error) => {
        const v = view.current;
        // Clearing no marks changes nothing (an editor update would still measure the layout).
        if (!v || (!error && !marked.current)) return;
        const len = v.state.doc.length;
        const diagnostics: Diagnostic[] = error
          ? [{ from: Math.min(error.from, len), to: Math.min(Math.max(error.to, error.from), len), severity: 'error', message: error.message }]
          : [];
        marked.current = diagnostics.length > 0;
        v.dispatch(setDiagnostics(v.state, diagnostics));
        if (error) v.dispatch({ effects: EditorView.scrollIntoView(Math.min(error.from, len), { y: 'nearest' }) });
      },
      closeCompletion: () => {
        if (view.current) closeCompletion(view.current);
      },
      focus: () => view.current?.focus(),
    }),
    [],
  );

  return <div className="sql-editor" ref={host} />;
});
