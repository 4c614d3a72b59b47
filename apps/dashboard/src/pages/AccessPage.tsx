/**
 * Access (issue 17, admins only): the API keys — who made them, their role, expiry, last use and
 * status — a form that creates one and shows its secret once, and revoking with a confirmation.
 */
import { ApiKeyViewSchema } from "@codex-fleet/protocol/keys";
import { z } from "zod";
import { useIsAdmin } from "../auth/AuthGate.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/StateViews.tsx";
import { useApiQuery } from "../lib/useApiQuery.ts";
import { CreateKeyForm } from "./access/CreateKeyForm.tsx";
import { KeysTable } from "./access/KeysTable.tsx";

const KeyListSchema = z.array(ApiKeyViewSchema);

/** The Access page. */
export function AccessPage() {
  const isAdmin = useIsAdmin();
  if (!isAdmin)
    return (
      <EmptyState title="Admins only">
        <p>API keys are managed by an admin.</p>
      </EmptyState>
    );
  return <AdminAccess />;
}

function AdminAccess() {
  const keys = useApiQuery("/api/v1/keys", KeyListSchema);
  return (
    <>
      <div className="page-head">
        <h1>Access</h1>
        <span className="faint">
          API keys for scripts: sent as Authorization: Bearer, revocable one by one
        </span>
      </div>
      <section className="card" style={{ marginBottom: 14 }}>
        <div className="card-head">
          <h2>New API key</h2>
        </div>
        <div className="card-body">
          <CreateKeyForm onCreated={keys.reload} />
        </div>
      </section>
      <section className="card table-wrap">
        <div className="card-head">
          <h2>API keys</h2>
        </div>
        {keys.data === undefined && keys.loading && <LoadingState rows={3} label="Loading API keys…" />}
        {keys.data === undefined && !keys.loading && (
          <ErrorState compact title="Could not load API keys" error={keys.error} onRetry={keys.reload} />
        )}
        {keys.data !== undefined && <KeysTable keys={keys.data} onChanged={keys.reload} />}
      </section>
    </>
  );
}
