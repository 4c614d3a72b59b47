/** Whether the signed-in user is an admin (tests render <App/> without <AuthGate>: auth off, admin). */
import { useAuth } from "./AuthGate.tsx";

export function useIsAdmin(): boolean {
  return (useAuth()?.me.role ?? "admin") === "admin";
}
