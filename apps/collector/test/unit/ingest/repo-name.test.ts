import { describe, expect, it } from "vitest";
import { repoFromOrigin } from "../../../src/ingest/repo-name.ts";

describe("repoFromOrigin", () => {
  it.each<{ when: string; origin: string | null | undefined; repo: string | null }>([
    {
      when: "the origin uses scp syntax",
      origin: "git@github.com:acme/api.git",
      repo: "github.com/acme/api",
    },
    {
      when: "scp syntax has no .git",
      origin: "git@gitlab.example.com:group/sub/api",
      repo: "gitlab.example.com/group/sub/api",
    },
    { when: "scp syntax has no user", origin: "github.com:acme/api.git", repo: "github.com/acme/api" },
    {
      when: "the origin is https with .git",
      origin: "https://github.com/acme/api.git",
      repo: "github.com/acme/api",
    },
    {
      when: "the origin is https without .git",
      origin: "https://github.com/acme/api",
      repo: "github.com/acme/api",
    },
    {
      when: "https carries credentials",
      origin: "https://bob:s3cret@github.com/acme/api.git",
      repo: "github.com/acme/api",
    },
    {
      when: "https carries a port",
      origin: "https://git.example.com:8443/acme/api.git",
      repo: "git.example.com/acme/api",
    },
    {
      when: "the origin is ssh://",
      origin: "ssh://git@github.com/acme/api.git",
      repo: "github.com/acme/api",
    },
    {
      when: "ssh:// carries a port",
      origin: "ssh://git@github.com:2222/acme/api.git",
      repo: "github.com/acme/api",
    },
    { when: "the origin is git://", origin: "git://example.org/pub/api.git", repo: "example.org/pub/api" },
    {
      when: "there is a trailing slash",
      origin: "https://github.com/acme/api/",
      repo: "github.com/acme/api",
    },
    {
      when: "there are trailing slashes after .git",
      origin: "https://github.com/acme/api.git//",
      repo: "github.com/acme/api",
    },
    {
      when: "scp syntax ends in a slash",
      origin: "git@github.com:acme/api.git/",
      repo: "github.com/acme/api",
    },
    {
      when: "the origin has surrounding whitespace",
      origin: "  git@github.com:acme/api.git\n",
      repo: "github.com/acme/api",
    },
    { when: "the origin is a local path", origin: "/srv/git/api.git", repo: "srv/git/api" },
    { when: "the origin is a relative local path", origin: "../api", repo: "../api" },
    { when: "the origin is a file:// URL", origin: "file:///srv/git/api.git", repo: "srv/git/api" },
    { when: "the origin is a Windows path", origin: "C:\\repos\\api", repo: "C:\\repos\\api" },
    { when: "the origin is empty", origin: "", repo: null },
    { when: "the origin is blank", origin: "   ", repo: null },
    { when: "the origin is only a slash", origin: "/", repo: null },
    { when: "the origin is null", origin: null, repo: null },
    { when: "the origin is undefined", origin: undefined, repo: null },
  ])("returns $repo when $when", ({ origin, repo }) => {
    expect(repoFromOrigin(origin)).toBe(repo);
  });

  it("caps the name at 300 characters when the origin is huge", () => {
    expect(repoFromOrigin(`https://github.com/${"a".repeat(1_000)}`)).toHaveLength(300);
  });
});
