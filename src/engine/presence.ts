/**
 * A node's presence in its store: a heartbeat every HEARTBEAT_MS with what the node reports of
 * itself, removed on a clean stop. `GET /v1/cluster` lists the nodes heard from within NODE_ALIVE_MS,
 * and so does the node itself after each beat when asked (`onLiveNodes`: the split rate limits).
 * A missed beat (the store away) is logged and the next one tries again.
 */
import type { JsonObject } from '../core/types.js';
import type { Store } from '../store/types.js';
import type { Logger } from './executor-types.js';

/** How often a node writes its heartbeat (ms). */
export const HEARTBEAT_MS = 2_000;
/** A node not heard from for this long is not listed as live (ms). */
export const NODE_ALIVE_MS = 10_000;

export class NodePresence {
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt: number;
  private failing = false;

  constructor(
    private readonly store: Store,
    private readonly opts: {
      id: string; clock: () => number; log: Logger; info: () => JsonObject;
      /** Told after each heartbeat how many nodes are live (this one included), when given. */
      onLiveNodes?: (count: number) => void;
    },
  ) {
    this.startedAt = opts.clock();
  }

  /** Writes the first heartbeat (a failure is logged: the loop keeps trying) and starts the loop. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.store.removeNode(this.opts.id);
    } catch (e) {
      this.opts.log.warn({ err: e }, 'removing this node from the node list failed; it drops out when its heartbeat is stale');
    }
  }

  private async beat(): Promise<void> {
    try {
      const now = this.opts.clock();
      await this.store.heartbeatNode({ id: this.opts.id, started_at: this.startedAt, info: this.opts.info() }, now);
      if (this.opts.onLiveNodes) this.opts.onLiveNodes((await this.store.listNodes(now - NODE_ALIVE_MS, now)).length);
      if (this.failing) this.opts.log.info({}, 'the node heartbeat is written again');
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.opts.log.warn({ err: e }, 'writing the node heartbeat failed; retrying');
      this.failing = true;
    }
  }
}
