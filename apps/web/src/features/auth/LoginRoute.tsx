import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate } from '../../lib/router.js';
import { ErrorMessage, Loading } from '../../components/States.js';
import { loginLinkFailure, loginLinkToken, useAuth } from '../../lib/auth.js';
import { tokenFromInput } from './api.js';

/**
 * Route `/login#token=...`: exchanges the login token in the URL fragment for a session token, removes the token from
 * the address bar and history, and goes to the catalog (the console's home, without a stop at `/`). Without a token it
 * shows the sign-in form.
 */
export function LoginRoute() {
  const { signIn, status } = useAuth();
  const navigate = useNavigate();
  const [token] = useState(loginLinkToken);
  // The exchange may have failed already, before the first render (main.tsx): shown, not tried again.
  const [error, setError] = useState<unknown>(() => (token ? loginLinkFailure(token) : null));
  const [failedEarly] = useState(() => error !== null);

  useEffect(() => {
    if (!token) return;
    // The fragment never reaches the server; drop it from the address bar so it is not bookmarked or shared.
    navigate(window.location.pathname + window.location.search, { replace: true });
    if (failedEarly) return;
    signIn(token).then(
      () => navigate('/catalog', { replace: true }),
      (e: unknown) => setError(e),
    );
  }, [token, failedEarly, signIn, navigate]);

  useEffect(() => {
    if (!token && status === 'signed-in') navigate('/catalog', { replace: true });
  }, [token, status, navigate]);

  if (!token) return <SignInPage />;
  return (
    <div className="signin">
      <main className="signin-card" aria-labelledby="signing-in-title">
        <h1 id="signing-in-title">Signing in</h1>
        {error ? (
          <>
            <ErrorMessage error={error} title="This login link did not work" />
            <p>
              Login links work once. Ask an admin for a new one, or <Link to="/">paste a token</Link>.
            </p>
          </>
        ) : (
          <Loading label="Exchanging the login token…" />
        )}
      </main>
    </div>
  );
}

/** The page for signed-out visitors: how to get a login URL, and a form to paste a token or a login URL. */
export function SignInPage({ notice }: { notice?: string | null }) {
  const { signIn } = useAuth();
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const token = tokenFromInput(input);
    if (!token) return;
    setBusy(true);
    setError(null);
    try {
      await signIn(token);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <main className="signin-card" aria-labelledby="signin-title">
        <p className="brand signin-brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{' '}
          Lakehouse
        </p>
        <h1 id="signin-title">Sign in</h1>
        {notice ? (
          <p className="callout" role="status">
            {notice}
          </p>
        ) : null}
        <p>The console signs you in with a login URL or a token. To get one:</p>
        <ul className="signin-steps">
          <li>
            <strong>First start:</strong> <code>lakehouse serve</code> creates an admin and prints a one-time login URL
            (<code>http://…/login#token=…</code>). Open it in this browser.
          </li>
          <li>
            <strong>Everyone else:</strong> ask an admin to issue you a token (Admin → Users, or <code>POST /api/users/&lt;id&gt;/tokens</code>) and
            paste it below.
          </li>
        </ul>
        <form onSubmit={submit} className="signin-form">
          <label htmlFor="signin-token">Token or login URL</label>
          <input
            id="signin-token"
            className="input"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={input}
            onChange={(e) => setInput(e.target.value)}
            placeholder="lh_… or http://…/login#token=lh_…"
          />
          <button type="submit" className="btn btn-primary" disabled={busy || !input.trim()}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        {error ? <ErrorMessage error={error} title="Sign-in failed" /> : null}
        <p className="muted small">The session lasts until you sign out or close this tab; the token is kept in this tab only.</p>
      </main>
    </div>
  );
}
