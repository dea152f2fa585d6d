import { isErased, type Order } from '../api/types';
import { useI18n } from '../i18n/context';
import { formatRupiah } from '../lib/format';
import { customerLabel } from '../lib/privacy';
import { ConfirmDialog } from './ConfirmDialog';

/** "Delete this order?", naming the customer, the item and its value; open while `order` is set. */
export function DeleteOrderDialog({
  order,
  onConfirm,
  onCancel,
}: {
  order: Order | null;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  return (
    <ConfirmDialog
      open={order !== null}
      title={t('dialog.delete.title')}
      body={
        order
          ? t('dialog.delete.body', {
              name: customerLabel(order, t),
              item: isErased(order) ? t('privacy.erased') : (order.nama_barang ?? ''),
              value: formatRupiah(order.estimasi_nilai_barang),
            })
          : ''
      }
      confirmLabel={t('dialog.delete.confirm')}
      onConfirm={onConfirm}
      onCancel={onCancel}
    />
  );
}
