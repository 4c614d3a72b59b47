/**
 * How one turn unfolds on a simulated app-server, per outcome, in the order 0.169.0 emits it
 * (captures in packages/protocol/test/fixtures/real-0.169.0, facts §3–§4):
 * completed: status active, turn/started, user item, agent item, tokenUsage, readState, idle, turn/completed;
 * tool call: + command item, tokenUsage of the first response after the command ran, second response;
 * HTTP 500: systemError, error, turn/completed failed (no usage);
 * response.failed: usage echo, systemError, error, turn/completed failed;
 * interrupted: usage echo, idle, turn/completed interrupted;
 * approval / user input: flag, server request, …, serverRequest/resolved, flags cleared.
 */
import {
  COMMANDS,
  FOLLOW_UPS,
  HTTP_500_MESSAGE,
  KNOWN_MODELS,
  QUESTIONS,
  RESPONSE_FAILED_MESSAGE,
} from "./catalog.ts";
import { callItemId, messageItemId, uuidv7 } from "./ids.ts";
import type { Prng } from "./prng.ts";
import {
  agentMessageShape,
  commandApprovalParams,
  commandShape,
  errorParams,
  readStateShape,
  turnShape,
  userInputParams,
  userMessageShape,
} from "./shapes.ts";
import type { SimServer } from "./sim-server.ts";
import type { PendingRequest, SimCommand, SimMessage, SimThread, SimTurn } from "./state.ts";
import { responseUsage, type WireTokenCounts } from "./usage.ts";

/** What a turn ends up as. */
export type Outcome =
  | "completed"
  | "toolCall"
  | "approval"
  | "approvalStuck"
  | "userInput"
  | "http500"
  | "responseFailed"
  | "interrupted";

/** The developer's side of a running turn: simulated waits and answers to server requests. */
export interface TurnContext {
  server: SimServer;
  thread: SimThread;
  prng: Prng;
  /** Let `simMs` of simulated time pass. */
  wait(simMs: number): Promise<void>;
  /** The developer's reaction to a server request: answer after `afterMs` (simulated), or interrupt the turn then. */
  react(outcome: Outcome): { afterMs: number; interrupt: boolean };
}

const cachedShare = (t: SimThread, prng: Prng): number =>
  t.turns.length <= 1 ? 0.1 : 0.75 + prng.next() * 0.2;
const modelLatency = (prng: Prng): number => prng.logNormal(2_500, 0.6);

/** Run one turn with `text` as the user message; resolves when `turn/completed` was emitted. */
export async function runTurn(ctx: TurnContext, text: string, outcome: Outcome): Promise<SimTurn> {
  const turn = await beginTurn(ctx, text);
  switch (outcome) {
    case "completed":
      await agentReply(ctx, turn);
      return complete(ctx, turn);
    case "toolCall":
      await toolCall(ctx, turn, null);
      await agentReply(ctx, turn);
      return complete(ctx, turn);
    case "approval":
    case "approvalStuck": {
      const unreported = await toolCall(ctx, turn, outcome);
      if (unreported) return interrupt(ctx, turn, unreported);
      await agentReply(ctx, turn);
      return complete(ctx, turn);
    }
    case "userInput":
      await userInput(ctx, turn);
      await agentReply(ctx, turn);
      return complete(ctx, turn);
    case "http500":
      await ctx.wait(ctx.prng.logNormal(600, 0.5));
      return fail(ctx, turn, { message: HTTP_500_MESSAGE, codexErrorInfo: "internalServerError" }, false);
    case "responseFailed":
      await ctx.wait(modelLatency(ctx.prng));
      return fail(ctx, turn, { message: RESPONSE_FAILED_MESSAGE, codexErrorInfo: "other" }, true);
    case "interrupted":
      await ctx.wait(ctx.prng.logNormal(4_000, 0.6));
      return interrupt(ctx, turn, null);
  }
}

/** A follow-up message for a thread that already has turns. */
export const followUp = (prng: Prng): string => prng.pick(FOLLOW_UPS);

async function beginTurn(ctx: TurnContext, text: string): Promise<SimTurn> {
  const { server, thread: t, prng } = ctx;
  const now = server.clock.now();
  if (!KNOWN_MODELS.has(t.model.model)) {
    server.toSubscribers(t, "warning", {
      threadId: t.id,
      message: `Model metadata for \`${t.model.model}\` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.`,
    });
  }
  const turn: SimTurn = {
    id: uuidv7(now, prng),
    status: "inProgress",
    error: null,
    startedAtMs: now,
    completedAtMs: null,
    user: { id: "", text, startedAtMs: now, completedAtMs: null },
    commands: [],
    agent: null,
  };
  // The rollout exists from here on: thread/resume works once status turns active (facts §2).
  t.persisted = true;
  t.turns.push(turn);
  if (t.preview === "") t.preview = text;
  t.updatedAtMs = now;
  server.setStatus(t, { type: "active", activeFlags: [] });
  server.toSubscribers(t, "turn/started", { threadId: t.id, turn: turnShape(turn, "live") });
  await ctx.wait(6);
  const at = server.clock.now();
  turn.user = { id: uuidv7(at, prng), text, startedAtMs: at, completedAtMs: null };
  server.toSubscribers(t, "item/started", {
    item: userMessageShape(turn.user),
    threadId: t.id,
    turnId: turn.id,
    startedAtMs: at,
  });
  turn.user.completedAtMs = at;
  itemCompleted(ctx, turn, userMessageShape(turn.user), at);
  t.contextTokens += 20 + Math.round(prng.logNormal(120, 0.8));
  return turn;
}

function itemCompleted(ctx: TurnContext, turn: SimTurn, item: Record<string, unknown>, at: number): void {
  ctx.server.toSubscribers(ctx.thread, "item/completed", {
    item,
    threadId: ctx.thread.id,
    turnId: turn.id,
    contentTokenCount: null,
    completedAtMs: at,
  });
}

/** One model response that is a message: item started, text delta, item completed, then usage. */
async function agentReply(ctx: TurnContext, turn: SimTurn): Promise<void> {
  const { server, thread: t, prng } = ctx;
  await ctx.wait(modelLatency(prng));
  const usage = responseUsage(prng, t.contextTokens, cachedShare(t, prng));
  const at = server.clock.now();
  const msg: SimMessage = { id: messageItemId(prng), text: "", startedAtMs: at, completedAtMs: null };
  server.toSubscribers(t, "item/started", {
    item: agentMessageShape(msg),
    threadId: t.id,
    turnId: turn.id,
    startedAtMs: at,
  });
  msg.text = `Done: ${turn.user.text.toLowerCase()}.`;
  server.toSubscribers(t, "item/agentMessage/delta", {
    threadId: t.id,
    turnId: turn.id,
    itemId: msg.id,
    delta: msg.text,
  });
  await ctx.wait(prng.logNormal(900, 0.6));
  msg.completedAtMs = server.clock.now();
  itemCompleted(ctx, turn, agentMessageShape(msg), msg.completedAtMs);
  turn.agent = msg;
  server.recordUsage(t, turn.id, usage);
  t.contextTokens += usage.outputTokens;
}

/**
 * A response that calls the shell tool, then the command. With an approval outcome the command
 * waits for the developer (or long, for approvalStuck). The first response's usage is reported
 * after the command ran (measured order); when the developer interrupts instead of answering it
 * is returned unreported, and the interrupt reports it (measured: one usage event, then idle).
 */
async function toolCall(
  ctx: TurnContext,
  turn: SimTurn,
  approval: Outcome | null,
): Promise<WireTokenCounts | null> {
  const { server, thread: t, prng } = ctx;
  await ctx.wait(modelLatency(prng));
  const usage = responseUsage(prng, t.contextTokens, cachedShare(t, prng));
  const at = server.clock.now();
  const cmd: SimCommand = {
    id: callItemId(prng),
    command: prng.pick(COMMANDS),
    processId: null,
    startedAtMs: at,
    completedAtMs: null,
    durationMs: null,
    exitCode: null,
    status: "inProgress",
  };
  turn.commands.push(cmd);
  if (approval !== null) {
    server.setStatus(t, { type: "active", activeFlags: ["waitingOnApproval"] });
    server.toSubscribers(t, "item/started", itemStartedParams(t, turn, commandShape(cmd, t.cwd, true), at));
    const answer = await request(ctx, approval, "item/commandExecution/requestApproval", turn, () =>
      commandApprovalParams(t.id, turn.id, cmd, t.cwd),
    );
    if (answer === null) return usage;
    const decision = (answer as { decision?: unknown } | null)?.decision;
    if (decision !== "accept" && typeof decision !== "object") {
      cmd.status = "declined";
      cmd.completedAtMs = server.clock.now();
      itemCompleted(ctx, turn, commandShape(cmd, t.cwd), cmd.completedAtMs);
      reportUsage(ctx, turn, usage, 0);
      return null;
    }
  } else {
    cmd.processId = String(prng.int(1_000, 99_999));
    server.toSubscribers(t, "item/started", itemStartedParams(t, turn, commandShape(cmd, t.cwd), at));
  }
  cmd.processId ??= String(prng.int(1_000, 99_999));
  const started = server.clock.now();
  await ctx.wait(prng.logNormal(700, 0.9));
  cmd.completedAtMs = server.clock.now();
  cmd.durationMs = cmd.completedAtMs - started;
  cmd.exitCode = prng.chance(0.85) ? 0 : 1;
  cmd.status = "completed";
  itemCompleted(ctx, turn, commandShape(cmd, t.cwd), cmd.completedAtMs);
  reportUsage(ctx, turn, usage, Math.round(prng.logNormal(600, 1)));
  return null;
}

function reportUsage(
  ctx: TurnContext,
  turn: SimTurn,
  usage: WireTokenCounts,
  toolOutputTokens: number,
): void {
  ctx.server.recordUsage(ctx.thread, turn.id, usage);
  ctx.thread.contextTokens += usage.outputTokens + toolOutputTokens;
}

/** The agent asks the developer a question (`request_user_input`): waitingOnUserInput until answered. */
async function userInput(ctx: TurnContext, turn: SimTurn): Promise<void> {
  const { server, thread: t, prng } = ctx;
  await ctx.wait(modelLatency(prng));
  const usage = responseUsage(prng, t.contextTokens, cachedShare(t, prng));
  server.setStatus(t, { type: "active", activeFlags: ["waitingOnUserInput"] });
  const itemId = callItemId(prng);
  const q = prng.pick(QUESTIONS);
  await request(ctx, "userInput", "item/tool/requestUserInput", turn, () =>
    userInputParams(t.id, turn.id, itemId, q, `q_${itemId.slice(5, 13)}`),
  );
  reportUsage(ctx, turn, usage, 30);
}

/**
 * Send a server request and wait for the answer. Resolves null when the developer interrupts
 * instead (the request stays pending until `interrupt` completes the turn, facts §4).
 */
async function request(
  ctx: TurnContext,
  outcome: Outcome,
  method: string,
  turn: SimTurn,
  params: () => Record<string, unknown>,
): Promise<unknown> {
  const { server, thread: t } = ctx;
  let pending: PendingRequest | null = null;
  const answer = await new Promise<unknown>((resolve) => {
    const sent = server.serverRequest(t, method, turn.id, params(), resolve);
    pending = sent;
    const { afterMs, interrupt } = ctx.react(outcome);
    const reply = method === "item/tool/requestUserInput" ? { answers: {} } : { decision: "accept" };
    void ctx.wait(afterMs).then(() => (interrupt ? resolve(null) : sent.resolve(reply)));
  });
  const resolved = pending as PendingRequest | null;
  if (answer === null || resolved === null) return null;
  server.announceResolved(t, resolved.id);
  server.setStatus(t, { type: "active", activeFlags: [] });
  return answer;
}

function itemStartedParams(
  t: SimThread,
  turn: SimTurn,
  item: Record<string, unknown>,
  at: number,
): Record<string, unknown> {
  return { item, threadId: t.id, turnId: turn.id, startedAtMs: at };
}

function finish(ctx: TurnContext, turn: SimTurn, status: SimTurn["status"]): void {
  const now = ctx.server.clock.now();
  turn.status = status;
  turn.completedAtMs = now;
  ctx.thread.updatedAtMs = now;
}

function readState(ctx: TurnContext): void {
  const first = ctx.thread.turns[0];
  if (!first) return;
  ctx.server.toSubscribers(ctx.thread, "thread/readState/changed", {
    threadId: ctx.thread.id,
    readState: readStateShape(first.id, uuidv7(ctx.server.clock.now(), ctx.prng)),
  });
}

function turnCompleted(ctx: TurnContext, turn: SimTurn): SimTurn {
  ctx.server.toSubscribers(ctx.thread, "turn/completed", {
    threadId: ctx.thread.id,
    turn: turnShape(turn, "live"),
  });
  return turn;
}

function complete(ctx: TurnContext, turn: SimTurn): SimTurn {
  finish(ctx, turn, "completed");
  readState(ctx);
  ctx.server.setStatus(ctx.thread, { type: "idle" });
  return turnCompleted(ctx, turn);
}

function fail(
  ctx: TurnContext,
  turn: SimTurn,
  error: { message: string; codexErrorInfo: string },
  echo: boolean,
): SimTurn {
  const { server, thread: t } = ctx;
  if (echo) server.echoUsage(t, turn.id);
  finish(ctx, turn, "failed");
  turn.error = error;
  // The thread stays systemError until its next turn starts (facts §3).
  server.setStatus(t, { type: "systemError" });
  server.toSubscribers(t, "error", errorParams(t.id, turn.id, error));
  readState(ctx);
  return turnCompleted(ctx, turn);
}

/** `unreported`: usage of a response whose report waited on an approval; otherwise the usage echo. */
function interrupt(ctx: TurnContext, turn: SimTurn, unreported: WireTokenCounts | null): SimTurn {
  const { server, thread: t } = ctx;
  const pending = t.pending;
  if (unreported) reportUsage(ctx, turn, unreported, 0);
  else server.echoUsage(t, turn.id);
  finish(ctx, turn, "interrupted");
  server.setStatus(t, { type: "idle" });
  turnCompleted(ctx, turn);
  // Interrupt while a request is pending: turn/completed, then serverRequest/resolved without an answer (facts §4).
  if (pending) {
    pending.resolve(null);
    server.announceResolved(t, pending.id);
  }
  return turn;
}
