/** Catches render errors of one page so the shell (header, navigation) stays usable. */
import { Component, type ReactNode } from "react";
import { ErrorState } from "./StateViews.tsx";

type Props = { children: ReactNode; resetKey: string };
type State = { error: unknown; resetKey: string };

/** Shows an error state with retry instead of a blank page; navigating elsewhere resets it. */
export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: undefined, resetKey: this.props.resetKey };

  static getDerivedStateFromError(error: unknown): Partial<State> {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    return props.resetKey !== state.resetKey ? { error: undefined, resetKey: props.resetKey } : null;
  }

  override render() {
    if (this.state.error !== undefined) {
      return (
        <ErrorState
          title="This view failed to render"
          error={this.state.error}
          onRetry={() => this.setState({ error: undefined })}
        />
      );
    }
    return this.props.children;
  }
}
