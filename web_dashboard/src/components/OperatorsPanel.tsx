import { useCallback, useEffect, useState, type SyntheticEvent } from 'react';

import type { OperatorAccount, OperatorChange } from '../api/client';
import { isApiError } from '../api/client';
import { useApi } from '../api/context';
import type { Role } from '../auth/permissions';
import { useI18n } from '../i18n/context';
import { errorMessage } from '../lib/errors';
import { useToast } from './toast/context';

/** Admin only: list the operator accounts, add one, change a role or (de)activate an account. */
export function OperatorsPanel() {
  const { t } = useI18n();
  const api = useApi();
  const toast = useToast();
  const [operators, setOperators] = useState<OperatorAccount[] | null>(null);
  const [loadError, setLoadError] = useState(false);
  const [form, setForm] = useState({ username: '', display_name: '', password: '', role: 'operator' as Role });
  const [formError, setFormError] = useState('');
  const [saving, setSaving] = useState(false);

  const load = useCallback(
    (signal?: AbortSignal) =>
      api
        .listOperators(signal)
        .then((list) => {
          setOperators(list);
          setLoadError(false);
        })
        .catch((e: unknown) => {
          if (!(isApiError(e) && e.kind === 'aborted')) setLoadError(true);
        }),
    [api],
  );

  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => controller.abort();
  }, [load]);

  const change = async (operator: OperatorAccount, patch: OperatorChange) => {
    try {
      await api.updateOperator(operator.id, patch);
      toast.show({ tone: 'success', message: t('operators.updated', { name: operator.username }) });
    } catch (e) {
      toast.show({ tone: 'error', message: errorMessage(e, t) });
    }
    await load();
  };

  const create = async (event: SyntheticEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (form.password.length < 10) {
      setFormError(t('operators.passwordShort'));
      return;
    }
    setSaving(true);
    setFormError('');
    try {
      const display = form.display_name.trim();
      await api.createOperator({
        username: form.username.trim(),
        password: form.password,
        role: form.role,
        ...(display ? { display_name: display } : {}),
      });
      toast.show({ tone: 'success', message: t('operators.created', { name: form.username.trim() }) });
      setForm({ username: '', display_name: '', password: '', role: 'operator' });
      await load();
    } catch (e) {
      setFormError(isApiError(e) && e.status === 409 ? t('operators.taken') : errorMessage(e, t));
    } finally {
      setSaving(false);
    }
  };

  const roleOptions = (
    <>
      <option value="operator">{t('role.operator')}</option>
      <option value="admin">{t('role.admin')}</option>
    </>
  );

  return (
    <section aria-labelledby="operators-heading" className="rounded-xl border border-slate-200 bg-white p-4">
      <h2 id="operators-heading" className="mb-3 text-lg font-semibold">
        {t('operators.heading')}
      </h2>
      {loadError ? <p role="alert" className="text-sm text-red-700">{t('operators.error')}</p> : null}
      {operators === null && !loadError ? <p className="text-sm text-slate-600">{t('operators.loading')}</p> : null}
      {operators ? (
        <ul className="mb-4 flex flex-col divide-y divide-slate-100">
          {operators.map((op) => (
            <li key={op.id} className="flex flex-wrap items-center gap-3 py-2 text-sm">
              <span className="min-w-32 font-medium">{op.display_name || op.username}</span>
              <span className="text-slate-600">{op.username}</span>
              <select
                className="field w-auto"
                aria-label={t('operators.roleFor', { name: op.username })}
                value={op.role}
                onChange={(e) => void change(op, { role: e.target.value as Role })}
              >
                {roleOptions}
              </select>
              <label className="flex items-center gap-1">
                <input
                  type="checkbox"
                  checked={op.active}
                  aria-label={t('operators.activeFor', { name: op.username })}
                  onChange={(e) => void change(op, { active: e.target.checked })}
                />
                <span aria-hidden="true">{t('operators.active')}</span>
              </label>
            </li>
          ))}
        </ul>
      ) : null}
      <form onSubmit={(e) => void create(e)} className="grid grid-cols-1 gap-3 sm:grid-cols-5 sm:items-end">
        <div className="flex flex-col gap-1">
          <label htmlFor="op-username" className="text-sm font-medium">{t('operators.username')}</label>
          <input id="op-username" className="field" required autoComplete="off" value={form.username}
            onChange={(e) => setForm({ ...form, username: e.target.value })} />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor="op-display" className="text-sm font-medium">{t('operators.displayName')}</label>
          <input id="op-display" className="field" value={form.display_name}
            onChange={(e) => setForm({ ...form, display_name: e.target.value })} />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor="op-password" className="text-sm font-medium">{t('operators.password')}</label>
          <input id="op-password" type="password" className="field" required minLength={10} autoComplete="new-password"
            value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor="op-role" className="text-sm font-medium">{t('operators.role')}</label>
          <select id="op-role" className="field" value={form.role}
            onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            {roleOptions}
          </select>
        </div>
        <button type="submit" className="btn-primary" disabled={saving}>{t('operators.create')}</button>
        <p role="alert" className="text-sm text-red-700 sm:col-span-5">{formError}</p>
      </form>
    </section>
  );
}
