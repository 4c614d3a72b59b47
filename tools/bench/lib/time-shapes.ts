/**
 * Times GET requests of one endpoint per query shape over HTTP, one at a time (scenarios query and
 * activity): 3 warm-up requests, then `requests` timed ones; every answer must be 200 and pass
 * `check` (the first one with `first` true), outside nothing but the fetch and the JSON parse.
 */
import { round } from "./machine.ts";
import { summarize } from "./stats.ts";

export interface Shape {
  name: string;
  query: string;
  /** One of the requests the dashboard page makes (the goal's figure). */
  page: boolean;
}

export interface ShapeTiming extends Shape {
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  resultRows: number;
}

export async function timeShapes(args: {
  /** Base URL and path up to the query, e.g. `http://…/api/v1/usage?from=…&to=…`. */
  url: string;
  shapes: readonly Shape[];
  requests: number;
  /** Throw when an answer is not the documented one; returns how many rows it holds. */
  check(body: unknown, shape: Shape, first: boolean): number;
}): Promise<{ shapes: ShapeTiming[]; pageP95Ms: number; allP95Ms: number }> {
  const shapes: ShapeTiming[] = [];
  const page: number[] = [];
  const all: number[] = [];
  for (const shape of args.shapes) {
    const url = `${args.url}${shape.query ? `&${shape.query}` : ""}`;
    const times: number[] = [];
    let resultRows = 0;
    for (let i = 0; i < args.requests + 3; i++) {
      const t0 = performance.now();
      const res = await fetch(url);
      const body = (await res.json()) as unknown;
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`${url} → ${res.status} ${JSON.stringify(body)}`);
      resultRows = args.check(body, shape, i === 0);
      if (i >= 3) times.push(ms);
    }
    const s = summarize(times);
    shapes.push({
      ...shape,
      p50Ms: round(s.p50, 1),
      p95Ms: round(s.p95, 1),
      maxMs: round(s.max, 1),
      resultRows,
    });
    all.push(...times);
    if (shape.page) page.push(...times);
  }
  return { shapes, pageP95Ms: round(summarize(page).p95, 1), allP95Ms: round(summarize(all).p95, 1) };
}
