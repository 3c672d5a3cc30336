/**
 * Hands the chosen `Backend` to components through React context, so tests can
 * render any component with a mock and nothing reaches for a global.
 */
import { createContext, useContext, useMemo, type ReactNode } from "react";
import type { Backend, BackendKind } from "./contract";

interface BackendContextValue {
  backend: Backend;
  kind: BackendKind;
}

const BackendContext = createContext<BackendContextValue | null>(null);

export function BackendProvider(props: {
  backend: Backend;
  kind: BackendKind;
  children: ReactNode;
}) {
  const { backend, kind } = props;
  const value = useMemo(() => ({ backend, kind }), [backend, kind]);
  return <BackendContext value={value}>{props.children}</BackendContext>;
}

function useBackendContext(): BackendContextValue {
  const value = useContext(BackendContext);
  if (value === null) throw new Error("useBackend needs a <BackendProvider> above it");
  return value;
}

export function useBackend(): Backend {
  return useBackendContext().backend;
}

export function useBackendKind(): BackendKind {
  return useBackendContext().kind;
}
