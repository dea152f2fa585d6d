import { useI18n } from '../../i18n/context';

/**
 * "data dihapus", muted, where a customer's name, e-mail, item or conversation was: the data is
 * gone for good (UU PDP), not merely unknown. `data-erased` lets the tests find it.
 */
export function ErasedText({ className = '' }: { className?: string }) {
  const { t } = useI18n();
  return (
    <span className={`text-slate-500 italic ${className}`} title={t('privacy.erased.hint')} data-erased="true">
      {t('privacy.erased')}
    </span>
  );
}
