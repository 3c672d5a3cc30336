/**
 * Loads conflicts page by page: a first page small enough to show at once, then
 * the rest in larger pages in the background, appended in the same sorted order
 * (by entity key, then id), so rows already on screen never move. A new status,
 * a reload or unmounting stops the loading in flight.
 */
import { useCallback, useEffect, useState } from "react";
import { normaliseError, type ApiError, type ConflictView } from "../backend";
import { useBackend } from "../backend/context";

export const FIRST_PAGE = 400;
export const NEXT_PAGE = 10_000;

export interface ConflictPages {
  data: ConflictView[] | undefined;
  total: number;
  /** True until every page has arrived. */
  loading: boolean;
  error: ApiError | null;
  reload: () => void;
}

export function useConflictPages(status: string | null): ConflictPages {
  const backend = useBackend();
  const [state, setState] = useState<Omit<ConflictPages, "reload">>({ data: undefined, total: 0, loading: true, error: null });
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    void (async () => {
      try {
        const first = await backend.conflictPage(status, 0, FIRST_PAGE);
        if (!live) return;
        let loaded = first.conflicts;
        setState({ data: loaded, total: first.total, loading: loaded.length < first.total, error: null });
        while (live && loaded.length < first.total) {
          // Let the page just loaded paint before asking for (and copying) the next.
          await new Promise((resolve) => setTimeout(resolve, 0));
          if (!live) return;
          const next = await backend.conflictPage(status, loaded.length, NEXT_PAGE);
          if (!live) return;
          if (next.conflicts.length === 0) break; // fewer than counted: some were resolved meanwhile
          loaded = loaded.concat(next.conflicts);
          setState({ data: loaded, total: next.total, loading: loaded.length < next.total, error: null });
        }
        if (live) setState((s) => ({ ...s, loading: false }));
      } catch (error) {
        if (live) setState((s) => ({ ...s, loading: false, error: normaliseError(error) }));
      }
    })();
    return () => {
      live = false;
    };
  }, [backend, status, generation]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { ...state, reload };
}
