import { useEffect, useRef, useState, type SyntheticEvent } from 'react';

import { isApiError } from '../api/client';
import { useAuth } from '../auth/context';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { useI18n } from '../i18n/context';

type LoginError =
  | { kind: 'required' }
  | { kind: 'invalid' }
  | { kind: 'rateLimited'; seconds: number | null }
  | { kind: 'network' }
  | { kind: 'other'; status: number };

/** From this many seconds on, a wait is told in minutes ("15 menit", not "898 detik"). */
const MINUTES_FROM = 120;

/**
 * The operator login: labelled fields, the first one focused, errors announced (`role="alert"`),
 * and after a 429 the button waits out `Retry-After`.
 */
export function LoginPage() {
  const { t } = useI18n();
  const { login, expired } = useAuth();
  const usernameRef = useRef<HTMLInputElement>(null);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<LoginError | null>(null);
  const [wait, setWait] = useState(0);

  useEffect(() => {
    usernameRef.current?.focus();
  }, []);

  useEffect(() => {
    if (wait <= 0) return;
    const timer = setTimeout(() => setWait((w) => Math.max(0, w - 1)), 1000);
    return () => clearTimeout(timer);
  }, [wait]);

  const onSubmit = async (event: SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (submitting || wait > 0) return;
    if (!username.trim() || !password) {
      setError({ kind: 'required' });
      (username.trim() ? document.getElementById('login-password') : usernameRef.current)?.focus();
      return;
    }
    setSubmitting(true);
    setError(null);
    try {
      await login(username.trim(), password);
    } catch (e) {
      setSubmitting(false);
      setPassword('');
      if (!isApiError(e) || e.kind === 'network') setError({ kind: 'network' });
      else if (e.status === 401 || e.status === 422) setError({ kind: 'invalid' });
      else if (e.status === 429) {
        setError({ kind: 'rateLimited', seconds: e.retryAfter });
        setWait(e.retryAfter ?? 0);
      } else setError({ kind: 'other', status: e.status });
    }
  };

  let message = '';
  if (error?.kind === 'required') message = t('login.error.required');
  else if (error?.kind === 'invalid') message = t('login.error.invalid');
  else if (error?.kind === 'rateLimited') {
    const seconds = error.seconds ?? 0;
    if (seconds >= MINUTES_FROM) message = t('login.error.rateLimited.minutes', { minutes: Math.ceil(seconds / 60) });
    else if (seconds > 0) message = t('login.error.rateLimited', { seconds });
    else message = t('login.error.rateLimited.noWait');
  }
  else if (error?.kind === 'network') message = t('toast.network');
  else if (error?.kind === 'other') message = t('toast.unknownError', { status: error.status });

  const usernameInvalid = error?.kind === 'invalid' || (error?.kind === 'required' && !username.trim());
  const passwordInvalid = error?.kind === 'invalid' || (error?.kind === 'required' && !password);
  let submitLabel = t('login.submit');
  if (submitting) submitLabel = t('login.submitting');
  else if (wait >= MINUTES_FROM) submitLabel = t('login.waiting.minutes', { minutes: Math.ceil(wait / 60) });
  else if (wait > 0) submitLabel = t('login.waiting', { seconds: wait });

  return (
    <div className="grid min-h-screen place-items-center bg-slate-100 px-3 py-6 text-slate-900">
      <main className="w-full max-w-sm">
        <div className="mb-3 flex justify-end">
          <LanguageSwitch />
        </div>
        <form
          noValidate
          aria-labelledby="login-heading"
          onSubmit={(e) => void onSubmit(e)}
          className="flex flex-col gap-4 rounded-xl border border-slate-200 bg-white p-6 shadow-sm"
        >
          <div>
            <h1 id="login-heading" className="text-xl font-bold">
              {t('login.title')}
            </h1>
            <p className="mt-1 text-sm text-slate-600">{t('login.intro')}</p>
          </div>
          {expired ? (
            <p role="status" className="rounded-md bg-amber-50 p-3 text-sm text-amber-900">
              {t('auth.signedOut')}
            </p>
          ) : null}
          <div className="flex flex-col gap-1">
            <label htmlFor="login-username" className="text-sm font-medium">
              {t('login.username')}
            </label>
            <input
              ref={usernameRef}
              id="login-username"
              name="username"
              className="field"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              aria-invalid={usernameInvalid ? true : undefined}
              aria-describedby={message ? 'login-error' : undefined}
            />
          </div>
          <div className="flex flex-col gap-1">
            <label htmlFor="login-password" className="text-sm font-medium">
              {t('login.password')}
            </label>
            <input
              id="login-password"
              name="password"
              type="password"
              className="field"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={passwordInvalid ? true : undefined}
              aria-describedby={message ? 'login-error' : undefined}
            />
          </div>
          <p id="login-error" role="alert" className="min-h-5 text-sm font-medium text-red-700">
            {message}
          </p>
          <button type="submit" className="btn-primary" disabled={submitting || wait > 0}>
            {submitLabel}
          </button>
        </form>
      </main>
    </div>
  );
}
