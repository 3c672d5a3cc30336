/**
 * Shows an `ApiError`: its human message, and its code for support and bug
 * reports. Screens decide what to do from the code, never from the message.
 */
import type { ApiError } from "../backend";

export function ErrorBanner(props: { error: ApiError; onRetry?: () => void; testId?: string }) {
  const { error, onRetry } = props;
  return (
    <div className="banner banner-error" role="alert" data-testid={props.testId ?? "error-banner"}>
      <p className="banner-message">{error.message}</p>
      <p className="banner-code">
        Error code: <code data-testid="error-code">{error.code}</code>
      </p>
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
