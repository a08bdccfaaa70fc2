/** Pages that are not built yet say so plainly (and how to do the same through the API). */
import { Empty } from '../components/ui/index.js';

export function RunsPlaceholder() {
  return (
    <section className="page">
      <h1>Runs</h1>
      <Empty title="The runs pages are coming">
        <p>Until then, list runs with <code>GET /v1/runs</code> or <code>flowgate runs list</code>.</p>
      </Empty>
    </section>
  );
}
