/** The in-memory state of one simulated app-server's threads and turns (kept compact: thousands of servers share one process). */
import type { SimModel } from "./catalog.ts";
import type { ScheduledTask } from "./scheduler.ts";
import type { WireTokenCounts } from "./usage.ts";

/** Something a client did that the collector must never do (its tests assert the list stays empty). */
export interface Violation {
  server: string;
  connection: number;
  client: string;
  kind: "response" | "mutatingRequest" | "resumeWithTurns";
  detail: string;
  atMs: number;
}

/** `ThreadStatus` as on the wire. */
export type SimStatus =
  | { type: "idle" }
  | { type: "systemError" }
  | { type: "notLoaded" }
  | { type: "active"; activeFlags: string[] };

/** A user or agent message item of a stored turn. */
export interface SimMessage {
  id: string;
  text: string;
  startedAtMs: number;
  completedAtMs: number | null;
}

/** A command the agent ran in a turn. */
export interface SimCommand {
  id: string;
  command: string;
  processId: string | null;
  startedAtMs: number;
  completedAtMs: number | null;
  durationMs: number | null;
  exitCode: number | null;
  /** "completed" | "declined" | "inProgress" (the wire's CommandExecutionStatus). */
  status: string;
}

/** A turn as the rollout stores it (served by thread/turns/list and thread/read). */
export interface SimTurn {
  id: string;
  status: "inProgress" | "completed" | "failed" | "interrupted";
  error: { message: string; codexErrorInfo: string } | null;
  startedAtMs: number;
  completedAtMs: number | null;
  user: SimMessage;
  commands: SimCommand[];
  agent: SimMessage | null;
}

/** A server request waiting for an answer (an approval or a question). */
export interface PendingRequest {
  id: number;
  method: string;
  params: Record<string, unknown>;
  turnId: string;
  /** Called with the winning answer's result (first answer wins, facts §4), or null on interrupt. */
  resolve(result: unknown): void;
}

/** Any real WebSocket client of a simulated server (the collector, a test client). */
export interface Subscriber {
  /** Send one already-serialized frame unless the client opted out of `method`. */
  send(text: string, method: string | null): void;
  /** False when the client opted out of notifications of `method`. */
  wants(method: string): boolean;
  readonly id: number;
}

/** One thread of a simulated server. */
export interface SimThread {
  id: string;
  createdAtMs: number;
  updatedAtMs: number;
  preview: string;
  model: SimModel;
  cwd: string;
  gitInfo: { sha: string; branch: string; originUrl: string } | null;
  path: string;
  status: SimStatus;
  /** In memory on the server (thread/loaded/list); false ⇔ status notLoaded. */
  loaded: boolean;
  /** The rollout exists (first turn started): thread/resume and thread/turns/list work. */
  persisted: boolean;
  /** Real clients that resumed the thread (they get turn/item/usage/error events and requests). */
  subscribers: Set<Subscriber>;
  /** The simulated developer's own client holds the thread (it counts as a subscriber for unload). */
  developerAttached: boolean;
  total: WireTokenCounts;
  last: WireTokenCounts | null;
  /** Turn of the last token usage event (the cold-resume replay names it, facts §5). */
  lastUsageTurnId: string | null;
  turns: SimTurn[];
  pending: PendingRequest | null;
  unloadTask: ScheduledTask | null;
  /** Context size in tokens before the next model response. */
  contextTokens: number;
}
