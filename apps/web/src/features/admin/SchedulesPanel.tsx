import type { MaintenanceKind } from '@lakehouse/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { Empty, ErrorMessage, Loading, Time } from '../../components/States.js';
import { createSchedule, deleteSchedule, maintenanceKeys, schedulesQuery, updateSchedule } from './api.js';
import { formatInterval, KIND_LABEL, SCHEDULE_PRESETS } from './format.js';

const KINDS: MaintenanceKind[] = ['optimize', 'vacuum', 'checkpoint'];

/** A table's maintenance schedules (e.g. OPTIMIZE nightly, VACUUM weekly): list, pause/resume, delete, add. */
export function SchedulesPanel({ table, canEdit }: { table: string; canEdit: boolean }) {
  const id = useId();
  const queryClient = useQueryClient();
  const schedules = useQuery(schedulesQuery(table));
  const [kind, setKind] = useState<MaintenanceKind>('optimize');
  const [minutes, setMinutes] = useState(1440);
  const refresh = () => queryClient.invalidateQueries({ queryKey: maintenanceKeys.all });
  const create = useMutation({
    // A scheduled VACUUM deletes for real with the table's retention (the API refuses shorter ones).
    mutationFn: () => createSchedule(table, { kind, intervalMinutes: minutes, params: kind === 'vacuum' ? { dryRun: false } : {} }),
    onSuccess: refresh,
  });
  const toggle = useMutation({ mutationFn: ({ sid, enabled }: { sid: string; enabled: boolean }) => updateSchedule(sid, { enabled }), onSuccess: refresh });
  const remove = useMutation({ mutationFn: (sid: string) => deleteSchedule(sid), onSuccess: refresh });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };

  return (
    <section aria-labelledby={`${id}-title`} className="panel">
      <h2 id={`${id}-title`}>Schedules</h2>
      {schedules.error ? (
        <ErrorMessage error={schedules.error} title="Could not list the schedules" retry={() => void schedules.refetch()} />
      ) : !schedules.data ? (
        <Loading label="Loading schedules…" />
      ) : schedules.data.length === 0 ? (
        <Empty>No schedule: maintenance runs only when someone starts it.</Empty>
      ) : (
        <ul className="schedule-list" aria-label="Schedules of this table">
          {schedules.data.map((s) => (
            <li key={s.id} className={s.enabled ? '' : 'paused'}>
              <div>
                <strong>
                  {KIND_LABEL[s.kind]} {formatInterval(s.intervalMinutes)}
                </strong>
                <div className="muted small">
                  {s.enabled ? (
                    <>
                      next <Time iso={s.nextRunAt} />
                    </>
                  ) : (
                    'paused'
                  )}
                  {s.lastRunAt ? (
                    <>
                      {' '}
                      · last <Time iso={s.lastRunAt} />
                    </>
                  ) : null}
                </div>
              </div>
              {canEdit ? (
                <div className="schedule-actions">
                  <button type="button" className="btn btn-small" onClick={() => toggle.mutate({ sid: s.id, enabled: !s.enabled })} disabled={toggle.isPending}>
                    {s.enabled ? 'Pause' : 'Resume'}
                  </button>
                  <button
                    type="button"
                    className="btn btn-small btn-ghost"
                    aria-label={`Delete the ${KIND_LABEL[s.kind]} ${formatInterval(s.intervalMinutes)} schedule`}
                    onClick={() => remove.mutate(s.id)}
                    disabled={remove.isPending}
                  >
                    Delete
                  </button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {canEdit ? (
        <form className="schedule-form" onSubmit={onSubmit} aria-label="Add a schedule">
          <label className="field">
            <span className="field-label">Run</span>
            <select className="input" value={kind} onChange={(e) => setKind(e.target.value as MaintenanceKind)}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k]}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span className="field-label">Every</span>
            <select className="input" value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
              {SCHEDULE_PRESETS.map((p) => (
                <option key={p.minutes} value={p.minutes}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="btn" disabled={create.isPending}>
            Add schedule
          </button>
        </form>
      ) : null}
      {kind === 'vacuum' && canEdit ? <p className="muted small">A scheduled VACUUM always keeps the table’s retention.</p> : null}
      {create.error || toggle.error || remove.error ? <ErrorMessage error={create.error ?? toggle.error ?? remove.error} title="Could not change the schedules" /> : null}
    </section>
  );
}
