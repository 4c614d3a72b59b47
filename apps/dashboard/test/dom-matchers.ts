/**
 * The few DOM matchers these tests use (@testing-library/jest-dom is not a dependency):
 * toBeInTheDocument, toHaveTextContent, toHaveClass, toHaveAttribute.
 */
import { expect } from "vitest";

interface DomMatchers<R = unknown> {
  toBeInTheDocument(): R;
  toHaveTextContent(expected: string | RegExp): R;
  toHaveClass(className: string): R;
  toHaveAttribute(name: string, value?: unknown): R;
}

declare module "vitest" {
  // biome-ignore lint/suspicious/noExplicitAny: must match vitest's own declaration to merge.
  interface Matchers<T = any> extends DomMatchers<T> {}
}

function normalize(text: string | null | undefined): string {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

function asElement(received: unknown): Element | null {
  return received instanceof Element ? received : null;
}

expect.extend({
  toBeInTheDocument(received: unknown) {
    const element = asElement(received);
    const pass = element?.ownerDocument.contains(element) ?? false;
    return { pass, message: () => `expected element ${pass ? "not " : ""}to be in the document` };
  },
  toHaveTextContent(received: unknown, expected: string | RegExp) {
    const text = normalize(asElement(received)?.textContent);
    const pass = typeof expected === "string" ? text.includes(normalize(expected)) : expected.test(text);
    return {
      pass,
      message: () =>
        `expected text ${JSON.stringify(text)} ${pass ? "not " : ""}to contain ${String(expected)}`,
    };
  },
  toHaveClass(received: unknown, className: string) {
    const element = asElement(received);
    const pass = element?.classList.contains(className) ?? false;
    return {
      pass,
      message: () => `expected class "${element?.className}" ${pass ? "not " : ""}to include ${className}`,
    };
  },
  toHaveAttribute(received: unknown, name: string, ...value: unknown[]) {
    const element = asElement(received);
    const actual = element?.getAttribute(name) ?? null;
    const pass = actual !== null && (value.length === 0 || this.equals(actual, value[0]));
    return {
      pass,
      message: () =>
        `expected attribute ${name}=${JSON.stringify(actual)} ${pass ? "not " : ""}to match ${value.length ? String(value[0]) : "(present)"}`,
    };
  },
});
