/**
 * Loads data from the backend for a component, and keeps out-of-order answers
 * from overwriting newer ones (a fast typist can start several queries).
 *
 * While a reload runs the previous data stays visible, so tables do not flash
 * empty between keystrokes.
 */
import { useCallback, useEffect, useRef, useState, type DependencyList } from "react";
import { normaliseError, type ApiError } from "../backend";

export interface LoadState<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: DependencyList): LoadState<T> {
  const [state, setState] = useState<Omit<LoadState<T>, "reload">>({
    data: undefined,
    error: null,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  const latest = useRef(0);

  useEffect(() => {
    const request = ++latest.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => {
        if (request === latest.current) setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        if (request === latest.current)
          setState((previous) => ({ data: previous.data, error: normaliseError(error), loading: false }));
      },
    );
    // `load` is a fresh closure each render; `deps` says when it really changes.
  }, [...deps, generation]);

  useEffect(
    () => () => {
      // Ignore answers that arrive after unmount.
      latest.current = -1;
    },
    [],
  );

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { ...state, reload };
}

/** `value`, but only after it has stopped changing for `delayMs`. */
export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}
