import { useAuth } from '../auth/context';
import { useI18n } from '../i18n/context';
import type { ConnectionState } from '../live/useLiveFeed';
import { ConnectionStatus } from './ConnectionStatus';
import { HandoffCount } from './handoffs/HandoffCount';
import { LanguageSwitch } from './LanguageSwitch';

/** `handoffs`: how many hand-offs are open (the count is left out until it is known). */
export function Header({ connection, handoffs }: { connection: ConnectionState; handoffs?: number | undefined }) {
  const { t } = useI18n();
  const { user, logout } = useAuth();
  const name = user ? user.display_name || user.username : '';
  const role = user ? t(user.role === 'admin' ? 'role.admin' : 'role.operator') : '';
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-screen-2xl flex-wrap items-center justify-between gap-3 px-3 py-3 sm:px-6">
        <div className="flex min-w-0 items-center gap-3">
          <span aria-hidden="true" className="grid h-9 w-9 shrink-0 place-items-center rounded-lg bg-emerald-700 text-white">
            <svg viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
              <path d="M20.6 13.4 13.4 20.6a2 2 0 0 1-2.8 0L3 13V3h10l7.6 7.6a2 2 0 0 1 0 2.8Z" />
              <circle cx="7.5" cy="7.5" r="1.5" />
            </svg>
          </span>
          <div className="min-w-0">
            <h1 className="truncate text-lg font-bold text-slate-900 sm:text-xl">{t('app.title')}</h1>
            <p className="hidden text-sm text-slate-600 sm:block">{t('app.subtitle')}</p>
          </div>
        </div>
        <div className="flex flex-wrap items-center justify-end gap-2">
          {handoffs === undefined ? null : <HandoffCount count={handoffs} />}
          <ConnectionStatus state={connection} />
          <LanguageSwitch />
          {user ? (
            <div className="flex items-center gap-2 border-l border-slate-200 pl-2">
              <p className="hidden text-right text-sm leading-tight md:block" aria-hidden="true">
                <span className="block font-medium text-slate-900">{name}</span>
                <span className="block text-slate-600">{role}</span>
              </p>
              <p className="sr-only">{t('auth.signedInAs', { name, role })}</p>
              <button type="button" className="btn-secondary" onClick={() => void logout()}>
                {t('auth.logout')}
              </button>
            </div>
          ) : null}
        </div>
      </div>
    </header>
  );
}
