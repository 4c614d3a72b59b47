/**
 * Token counters as 0.169.0 puts them on the wire (`TokenUsageBreakdown`), and realistic sizes for
 * one model response: input is the whole context so far (most of it cached after the first
 * response), output is a few hundred tokens of which some are reasoning.
 */
import type { Prng } from "./prng.ts";

/** `TokenUsageBreakdown` in wire key order. `totalTokens = inputTokens + outputTokens`. */
export interface WireTokenCounts {
  totalTokens: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
}

/** All-zero counters. */
export function zeroCounts(): WireTokenCounts {
  return {
    totalTokens: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    outputTokens: 0,
    reasoningOutputTokens: 0,
  };
}

/** `into += add`, in place. */
export function addCounts(into: WireTokenCounts, add: WireTokenCounts): void {
  into.totalTokens += add.totalTokens;
  into.inputTokens += add.inputTokens;
  into.cachedInputTokens += add.cachedInputTokens;
  into.cacheWriteInputTokens += add.cacheWriteInputTokens;
  into.outputTokens += add.outputTokens;
  into.reasoningOutputTokens += add.reasoningOutputTokens;
}

/** A fresh copy. */
export const copyCounts = (c: WireTokenCounts): WireTokenCounts => ({ ...c });

/** Tokens a new thread starts with: system prompt, tool definitions, AGENTS.md. */
export function initialContext(prng: Prng): number {
  return Math.round(prng.logNormal(9_000, 0.25));
}

/**
 * Usage of one model response given the thread's context before it. The caller grows the
 * context by the returned output plus whatever the turn adds (user message, tool output).
 */
export function responseUsage(prng: Prng, contextTokens: number, cachedShare: number): WireTokenCounts {
  const inputTokens = Math.max(200, Math.round(contextTokens));
  const cachedInputTokens = Math.min(inputTokens, Math.round((inputTokens * cachedShare) / 256) * 256);
  const outputTokens = Math.max(8, Math.round(prng.logNormal(420, 0.8)));
  const reasoningOutputTokens = Math.round(outputTokens * prng.next() * 0.6);
  return {
    totalTokens: inputTokens + outputTokens,
    inputTokens,
    cachedInputTokens,
    cacheWriteInputTokens: 0,
    outputTokens,
    reasoningOutputTokens,
  };
}
