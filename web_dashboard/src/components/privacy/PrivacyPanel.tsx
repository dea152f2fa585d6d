import { useEffect } from 'react';

import type { ErasureResult } from '../../api/privacy';
import { useErasureLog } from '../../hooks/useErasureLog';
import { useI18n } from '../../i18n/context';
import { CustomerExportForm } from './CustomerExportForm';
import { EraseCustomerForm } from './EraseCustomerForm';
import { ErasureLog } from './ErasureLog';

/**
 * Admin only: customers' requests under UU PDP. Erase a customer's personal data (by e-mail or
 * by an order), download everything held about one (an access request), and the log of
 * erasures. `erasedElsewhere` is an erasure made from the order drawer, for the log to show.
 */
export function PrivacyPanel({ erasedElsewhere = null }: { erasedElsewhere?: ErasureResult | null }) {
  const { t } = useI18n();
  const log = useErasureLog();
  const { awaitErasure } = log;

  useEffect(() => {
    if (erasedElsewhere) void awaitErasure(erasedElsewhere);
  }, [erasedElsewhere, awaitErasure]);

  return (
    <section
      aria-labelledby="privacy-heading"
      className="flex flex-col gap-6 rounded-xl border border-slate-200 bg-white p-4"
      data-testid="privacy-panel"
    >
      <div>
        <h2 id="privacy-heading" className="text-lg font-semibold">
          {t('privacy.heading')}
        </h2>
        <p className="text-sm text-slate-600">{t('privacy.intro')}</p>
      </div>
      <EraseCustomerForm onErased={(result) => void awaitErasure(result)} />
      <CustomerExportForm />
      <ErasureLog entries={log.entries} error={log.error} onRetry={() => void log.reload()} />
    </section>
  );
}
