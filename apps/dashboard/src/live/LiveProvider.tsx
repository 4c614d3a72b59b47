/** React context that shares one live feed (socket + state) with the header and every page. */
import { createContext, type ReactNode, useContext } from "react";
import { type LiveFeed, type LiveFeedOptions, useLiveFeed } from "./useLiveFeed.ts";

const LiveContext = createContext<LiveFeed | null>(null);

/** Opens the live feed for its children; `options` exist for tests (fake WebSocket, timings). */
export function LiveProvider({ children, options }: { children: ReactNode; options?: LiveFeedOptions }) {
  const feed = useLiveFeed(options);
  return <LiveContext.Provider value={feed}>{children}</LiveContext.Provider>;
}

/** The shared live feed; throws outside <LiveProvider>. */
export function useLive(): LiveFeed {
  const feed = useContext(LiveContext);
  if (!feed) throw new Error("useLive() must be used inside <LiveProvider>");
  return feed;
}
