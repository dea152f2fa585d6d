import { ApiProvider } from './api/ApiProvider';
import type { ApiClient } from './api/client';
import { AuthProvider } from './auth/AuthProvider';
import { useAuth } from './auth/context';
import type { AuthState } from './auth/permissions';
import { ToastProvider } from './components/toast/ToastProvider';
import { I18nProvider } from './i18n/I18nProvider';
import { useI18n } from './i18n/context';
import type { Locale } from './i18n/messages';
import type { EventSourceFactory } from './live/useLiveFeed';
import { Dashboard } from './pages/Dashboard';
import { LoginPage } from './pages/LoginPage';

/** What the session allows to show: checking, the login page, or the dashboard. */
function Gate({ createEventSource }: { createEventSource?: EventSourceFactory | undefined }) {
  const { status } = useAuth();
  const { t } = useI18n();
  if (status === 'loading') {
    return (
      <p role="status" className="p-6 text-sm text-slate-700">
        {t('auth.loading')}
      </p>
    );
  }
  if (status === 'anonymous') return <LoginPage />;
  return <Dashboard {...(createEventSource ? { createEventSource } : {})} />;
}

export interface AppProps {
  /** Test seams: a fake API client or `fetch`, event source, session or language. */
  client?: ApiClient;
  fetch?: typeof globalThis.fetch;
  createEventSource?: EventSourceFactory;
  auth?: AuthState;
  locale?: Locale;
}

export function App({ client, fetch, createEventSource, auth, locale }: AppProps) {
  return (
    <I18nProvider {...(locale ? { initial: locale } : {})}>
      <AuthProvider {...(auth ? { initial: auth } : {})} {...(fetch ? { fetch } : {})}>
        <ApiProvider {...(client ? { client } : {})} {...(fetch ? { fetch } : {})}>
          <ToastProvider>
            <Gate createEventSource={createEventSource} />
          </ToastProvider>
        </ApiProvider>
      </AuthProvider>
    </I18nProvider>
  );
}
