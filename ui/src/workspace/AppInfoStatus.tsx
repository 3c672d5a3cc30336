/**
 * The header's status: which workspace is open and which app and database
 * schema versions are running, from the `app_info` command. This is the first
 * call the UI makes, so its error banner is often the first sign of a broken
 * workspace.
 */
import { useBackend, useBackendKind } from "../backend/context";
import { ErrorBanner } from "../shared/ErrorBanner";
import { Spinner } from "../shared/Spinner";
import { useLoad } from "../shared/useLoad";

export function AppInfoStatus() {
  const backend = useBackend();
  const kind = useBackendKind();
  const info = useLoad(() => backend.appInfo(), [backend]);

  if (info.error) return <ErrorBanner error={info.error} onRetry={info.reload} />;
  if (info.data === undefined) return <Spinner label="Opening workspace…" testId="app-info-loading" />;

  const { workspace, version, schemaVersion } = info.data;
  return (
    <dl className="app-info" aria-label="Workspace status">
      <div className="app-info-item app-info-workspace">
        <dt>Workspace</dt>
        <dd data-testid="workspace-path" title={workspace}>
          {/* bdi: the dd is right-to-left to keep a long path's end in view; this keeps the path itself left-to-right. */}
          <bdi>{workspace}</bdi>
        </dd>
      </div>
      <div className="app-info-item">
        <dt>Version</dt>
        <dd data-testid="app-version">{version}</dd>
      </div>
      <div className="app-info-item">
        <dt>Schema</dt>
        <dd data-testid="schema-version">{schemaVersion}</dd>
      </div>
      {kind === "mock" && (
        <div className="app-info-item">
          <dt className="visually-hidden">Data</dt>
          <dd>
            <span className="badge badge-warning" data-testid="mock-badge">
              Browser preview: sample data
            </span>
          </dd>
        </div>
      )}
    </dl>
  );
}
