// Loading a page's data now and every few seconds, with a one-line reason when it fails.
import { useEffect, useState } from "react";

import { ApiError } from "../api";

export const REFRESH_MS = 5000; // new metric rows and events land every few seconds

export function useRefreshed<T>(
  load: (() => Promise<T>) | null,
  every: number | null = REFRESH_MS,
): { data: T | null; error: string | null } {
  // Kept with the loader it came from: a new loader (another symbol) shows nothing stale.
  const [got, setGot] = useState<{ from: unknown; data: T | null; error: string | null }>({
    from: null,
    data: null,
    error: null,
  });

  useEffect(() => {
    if (!load) return;
    let current = true;
    const run = () =>
      load()
        .then((data) => current && setGot({ from: load, data, error: null }))
        .catch(
          (e: unknown) =>
            current &&
            setGot((was) => ({
              from: load,
              data: was.from === load ? was.data : null,
              error: e instanceof ApiError ? e.message : String(e),
            })),
        );
    run();
    const timer = every === null ? undefined : setInterval(run, every);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [load, every]);

  return got.from === load ? { data: got.data, error: got.error } : { data: null, error: null };
}

export const show = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined ? "–" : x.toFixed(digits);

/** An ISO time as the pages show it: UTC, to the second. */
export const when = (ts: string | null) =>
  ts === null ? "–" : ts.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC");
