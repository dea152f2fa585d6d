import { useState } from 'react';

import type { ErasureResult } from '../../api/privacy';
import type { Order } from '../../api/types';
import { useErasure } from '../../hooks/useErasure';
import { useI18n } from '../../i18n/context';
import { alasanProblem } from '../../lib/privacy';
import { useToast } from '../toast/context';
import { EraseDialog } from './EraseDialog';

/**
 * The order drawer's "Hapus data pribadi" (admins): erases the personal data of this order's
 * customer, in all their orders, after the same confirmation as the panel's; the reason is typed
 * in the dialog.
 */
export function EraseOrderCustomer({ order, onErased }: { order: Order; onErased: (result: ErasureResult) => void }) {
  const { t } = useI18n();
  const toast = useToast();
  const erasure = useErasure();
  const [open, setOpen] = useState(false);
  const [alasan, setAlasan] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  const close = () => {
    setOpen(false);
    setAlasan('');
    setProblem(null);
    erasure.reset();
  };

  const confirm = async () => {
    const checked = alasanProblem(alasan, t);
    setProblem(checked);
    if (checked) return;
    const result = await erasure.erase({ order_id: order.id, alasan: alasan.trim() });
    if (!result) return;
    close();
    toast.show({ tone: 'success', message: t('privacy.result', { pesanan: result.pesanan, handoff: result.handoff }) });
    onErased(result);
  };

  const { errors } = erasure;
  const form = errors.form ?? errors.order_id ?? errors.email;
  const alasanError = problem ?? errors.alasan;
  return (
    <>
      <button type="button" className="btn-danger" data-action="erase" onClick={() => setOpen(true)}>
        {t('drawer.erase')}
      </button>
      <EraseDialog
        open={open}
        target={{ order_id: order.id }}
        alasan={alasan}
        onAlasanChange={(value) => {
          setAlasan(value);
          setProblem(null);
          erasure.setErrors({});
        }}
        errors={{ ...(alasanError ? { alasan: alasanError } : {}), ...(form ? { form } : {}) }}
        busy={erasure.busy}
        onConfirm={() => void confirm()}
        onCancel={close}
      />
    </>
  );
}
