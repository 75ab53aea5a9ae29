// A secret shown once, right after its creation (an SMTP password, a webhook's signing
// secret): in a dialog, with a Copy button, and said plainly that it cannot be shown again.
import { useState, type ReactNode } from 'react';
import { Dialog } from './ui.tsx';

export function SecretDialog({ open, title, secret, label, children, onClose }: { open: boolean; title: string; secret: string; label: string; children?: ReactNode; onClose: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  return (
    <Dialog
      open={open}
      title={title}
      onClose={() => {
        setCopied(null);
        onClose();
      }}
      footer={
        <button type="button" className="primary" onClick={onClose}>
          I have stored it
        </button>
      }
    >
      {children}
      <div className="secret">
        <span className="secret-label">{label}</span>
        <code className="mono secret-value" data-testid="secret">{secret}</code>
        <button type="button" onClick={() => void copy()} data-action="copy">
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
      </div>
      {copied === 'no' && <p className="small error-text">The browser did not allow copying: select the text and copy it.</p>}
      <p className="banner warning">Shown only now: Estafeta cannot show it again. If it is lost, create a new one.</p>
    </Dialog>
  );
}
