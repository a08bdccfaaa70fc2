import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Button } from './Button.js';

export interface DialogProps {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  actions?: ReactNode;
}

/** A modal dialog on the native <dialog> element: focus is kept inside, Escape closes it. */
export function Dialog({ open, title, onClose, children, actions }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="dialog-title" onClose={onClose} onCancel={(e) => { e.preventDefault(); onClose(); }}>
      {open ? (
        <>
          <h2 id="dialog-title" className="dialog-title">{title}</h2>
          <div className="dialog-body">{children}</div>
          <div className="dialog-actions">{actions ?? <Button onClick={onClose}>Close</Button>}</div>
        </>
      ) : null}
    </dialog>
  );
}

export interface ConfirmProps {
  open: boolean;
  title: string;
  message: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void> | void;
  onClose: () => void;
}

/** Asks before doing something that cannot be undone; shows the API's problem if it fails. */
export function Confirm({ open, title, message, confirmLabel, danger, onConfirm, onClose }: ConfirmProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ReactNode>(null);
  useEffect(() => { if (open) setError(null); }, [open]);
  const go = async () => {
    setBusy(true);
    try {
      await onConfirm();
      onClose();
    } catch (e) {
      const { title: t, detail } = describe(e);
      setError(<div className="problem" role="alert"><strong>{t}</strong>{detail ? <p>{detail}</p> : null}</div>);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open={open}
      title={title}
      onClose={onClose}
      actions={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant={danger ? 'danger' : 'primary'} busy={busy} onClick={go}>{confirmLabel}</Button>
        </>
      }
    >
      {message}
      {error}
    </Dialog>
  );
}

function describe(e: unknown): { title: string; detail: string } {
  if (e && typeof e === 'object' && 'title' in e) return { title: String((e as { title: unknown }).title), detail: String((e as { detail?: unknown }).detail ?? '') };
  return { title: 'It did not work', detail: e instanceof Error ? e.message : String(e) };
}
