import { useI18n } from '../i18n/context';
import { LOCALES } from '../i18n/messages';

export function LanguageSwitch() {
  const { locale, setLocale, t } = useI18n();
  return (
    <div role="group" aria-label={t('lang.label')} className="inline-flex rounded-md shadow-sm ring-1 ring-slate-300">
      {LOCALES.map((code) => {
        const active = code === locale;
        return (
          <button
            key={code}
            type="button"
            lang={code}
            aria-pressed={active}
            aria-label={t(`lang.${code}`)}
            title={t(`lang.${code}`)}
            onClick={() => setLocale(code)}
            className={`px-3 py-1 text-sm font-semibold first:rounded-l-md last:rounded-r-md ${
              active ? 'bg-slate-900 text-white' : 'bg-white text-slate-700 hover:bg-slate-100'
            }`}
          >
            {t(`lang.${code}.short`)}
          </button>
        );
      })}
    </div>
  );
}
