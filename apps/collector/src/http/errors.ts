/** API errors carry a code and a status; one handler renders them; 5xx text never leaks. */
import type { FastifyError, FastifyInstance } from "fastify";

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

/** A 400 that names the bad parameter. */
export function badParam(param: string, message: string): ApiError {
  return new ApiError(400, "BAD_PARAMETER", `${param}: ${message}`, param);
}

export function notFound(what: string): ApiError {
  return new ApiError(404, "NOT_FOUND", `${what} not found`);
}

/** Install the one error handler and the 404 handler. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      void reply.status(err.statusCode).send({
        error: { code: err.code, message: err.message, ...(err.param ? { param: err.param } : {}) },
      });
      return;
    }
    const status = typeof err.statusCode === "number" && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, "request failed");
      void reply.status(status).send({ error: { code: "INTERNAL", message: "internal error" } });
      return;
    }
    void reply.status(status).send({ error: { code: err.code ?? "BAD_REQUEST", message: err.message } });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ error: { code: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` } });
  });
}
