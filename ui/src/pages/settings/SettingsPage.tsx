/** Settings (admin): API keys, write-only secrets, Corezoid API logins, the webhook signing secret. */
import { useState } from 'react';
import { useLocation, useSearch } from 'wouter';
import { Empty, Tabs } from '../../components/ui/index.js';
import { useRole } from '../../session.js';
import { ApiLoginsSection } from './ApiLoginsSection.js';
import { KeysSection } from './KeysSection.js';
import { SecretsSection } from './SecretsSection.js';
import { WebhookSecretSection } from './WebhookSecretSection.js';
import '../actions.css';

const TABS = [
  { id: 'keys', label: 'API keys' },
  { id: 'secrets', label: 'Secrets' },
  { id: 'logins', label: 'API logins' },
  { id: 'webhook', label: 'Webhook secret' },
];

export function SettingsPage() {
  const { can, role } = useRole();
  const [, navigate] = useLocation();
  const asked = new URLSearchParams(useSearch()).get('tab');
  const [tab, setTab] = useState(TABS.some((t) => t.id === asked) ? asked! : 'keys');
  const choose = (id: string) => { setTab(id); navigate(`/settings?tab=${id}`, { replace: true }); };
  return (
    <section className="page">
      <h1>Settings</h1>
      {role && !can('admin') ? (
        <Empty title="Settings need an admin key">
          <p>A <code>{role}</code> key cannot manage keys, secrets or logins.</p>
        </Empty>
      ) : null}
      {can('admin') ? (
        <Tabs tabs={TABS} value={tab} onChange={choose} label="Settings">
          {tab === 'keys' ? <KeysSection /> : null}
          {tab === 'secrets' ? <SecretsSection /> : null}
          {tab === 'logins' ? <ApiLoginsSection /> : null}
          {tab === 'webhook' ? <WebhookSecretSection /> : null}
        </Tabs>
      ) : null}
    </section>
  );
}
