/** The tenant's webhook signing secret (Standard Webhooks): shown on request, rotated after a confirmation. */
import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { getWebhookSecret, rotateWebhookSecret } from '../../api/index.js';
import { Button, Confirm, CopyButton, ErrorState, Loading } from '../../components/ui/index.js';
import { when } from './format.js';

export function WebhookSecretSection() {
  const qc = useQueryClient();
  const [shown, setShown] = useState(false);
  const [rotating, setRotating] = useState(false);
  const secret = useQuery({ queryKey: ['webhook-secret'], queryFn: getWebhookSecret, enabled: shown, staleTime: Infinity });
  return (
    <div className="panel">
      <h2>Webhook signing secret</h2>
      <p className="muted">Result deliveries (<code>?callback_url=</code>) are signed with it; receivers verify them with any Standard Webhooks library.</p>
      {!shown ? <Button onClick={() => setShown(true)}>Show the secret</Button> : null}
      {shown && secret.isPending ? <Loading label="Loading the secret…" /> : null}
      {secret.isError ? <ErrorState error={secret.error} /> : null}
      {shown && secret.data ? (
        <>
          <p><code aria-label="Webhook secret">{secret.data.secret}</code></p>
          <div className="actions-row">
            <CopyButton text={secret.data.secret} what="the webhook secret" />
            <Button size="sm" onClick={() => setShown(false)}>Hide</Button>
            <Button size="sm" variant="danger" onClick={() => setRotating(true)}>Rotate…</Button>
          </div>
          <dl className="facts">
            <dt>Created</dt><dd>{when(secret.data.created_at)}</dd>
            <dt>Rotated</dt><dd>{when(secret.data.rotated_at)}</dd>
            {secret.data.previous_valid_until ? <><dt>The previous secret still signs until</dt><dd>{when(secret.data.previous_valid_until)}</dd></> : null}
          </dl>
        </>
      ) : null}
      <Confirm
        open={rotating}
        title="Rotate the webhook secret?"
        message={<p>A new secret signs every delivery from now on; for 24 hours deliveries also carry a signature with the old one, so receivers can switch over.</p>}
        confirmLabel="Rotate"
        danger
        onConfirm={async () => { qc.setQueryData(['webhook-secret'], await rotateWebhookSecret()); setShown(true); }}
        onClose={() => setRotating(false)}
      />
    </div>
  );
}
