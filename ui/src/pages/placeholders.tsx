/** Pages that are not built yet say so plainly (and how to do the same through the API). */
import { Empty } from '../components/ui/index.js';

export function SettingsPlaceholder() {
  return (
    <section className="page">
      <h1>Settings</h1>
      <Empty title="The settings pages are coming">
        <p>Until then, manage keys with <code>POST /v1/keys</code> and secrets with <code>PUT /v1/secrets/&#123;name&#125;</code>.</p>
      </Empty>
    </section>
  );
}
