/** Fetches one API URL with loading/error/retry state; keeps the last data while refetching. */
import { useCallback, useEffect, useState } from "react";
import type { z } from "zod";
import { apiFetch } from "./api-client.ts";

/** What a page renders from: `data` survives refetches so views never flash empty. */
export type ApiQuery<T> = {
  data: T | undefined;
  error: unknown;
  /** True while a request is in flight (first load or refetch). */
  loading: boolean;
  /** Refetch now (retry button, live usage tick). */
  reload: () => void;
};

/**
 * GET `url` (null = don't fetch), parse the answer with `schema` (a module-level constant: a new
 * schema object refetches), and re-GET whenever the URL changes or `reload()` is called. An answer
 * that does not match the schema is an `error`, like a failed request.
 */
export function useApiQuery<T>(url: string | null, schema: z.ZodType<T>): ApiQuery<T> {
  const [generation, setGeneration] = useState(0);
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: url !== null,
  });

  // biome-ignore lint/correctness/useExhaustiveDependencies: generation is the reload trigger.
  useEffect(() => {
    if (url === null) {
      setState({ data: undefined, error: undefined, loading: false });
      return;
    }
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    apiFetch(url, schema, { signal: controller.signal }).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (!controller.signal.aborted)
          setState((previous) => ({ data: previous.data, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [url, schema, generation]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { ...state, reload };
}
