import { expect, type Locator, type Page } from '@playwright/test';
import { Shell } from './Shell.js';

/** The sign-in page (`/login`) and the login-URL flow (`/login#token=...`). */
export class LoginPage {
  readonly heading: Locator;
  /** The field that takes a token or a whole login URL. */
  readonly tokenInput: Locator;
  readonly submit: Locator;
  /** The first alert on the page (a failed exchange shows one). */
  readonly error: Locator;
  /** The notice above the form (e.g. "You signed out."). */
  readonly notice: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { name: 'Sign in', exact: true });
    this.tokenInput = page.getByLabel('Token or login URL');
    this.submit = page.getByRole('button', { name: 'Sign in', exact: true });
    this.error = page.getByRole('alert').first();
    this.notice = page.getByRole('status').filter({ hasNotText: /loading|signing/i }).first();
  }

  /** Opens the sign-in form and waits until it is shown. */
  async goto(): Promise<void> {
    await this.page.goto('/login');
    await expect(this.heading).toBeVisible();
  }

  /** Opens `/login#token=<token>`; with `userName`, waits until the console shows that user as signed in. */
  async signInWithUrl(token: string, userName?: string): Promise<void> {
    await this.page.goto(`/login#token=${encodeURIComponent(token)}`);
    if (userName !== undefined) await expect(new Shell(this.page).signedInUser).toContainText(userName);
  }

  /** Pastes a token (or login URL) into the form and submits it. */
  async signInWithToken(tokenOrUrl: string): Promise<void> {
    await this.tokenInput.fill(tokenOrUrl);
    await this.submit.click();
  }
}
