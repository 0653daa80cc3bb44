/**
 * Business rules beyond the spec's schemas, so that clients can be tested against rejections.
 * Checked on the validated body (create: the whole row; update: the changed fields). The schema
 * has matching CHECK constraints as a backstop. A further rule lives in the schema alone:
 * deleting an account that still has transactions is a 409 (foreign key ON DELETE RESTRICT).
 */
import { addError, type FieldErrors } from "./problem.js";
import type { Json } from "./spec.js";

type Rule = (body: Record<string, Json>) => FieldErrors;

const CURRENCY = /^[A-Z]{3}$/;

export const RULES: Record<string, Rule> = {
  transactions(body) {
    const errors: FieldErrors = {};
    if (typeof body.amount === "string" && Number(body.amount) === 0) addError(errors, "amount", "must not be zero");
    return errors;
  },
  accounts(body) {
    const errors: FieldErrors = {};
    if (typeof body.currency === "string" && !CURRENCY.test(body.currency)) {
      addError(errors, "currency", "must be an ISO 4217 code of three capital letters");
    }
    return errors;
  },
};

export function checkRules(table: string, body: Record<string, Json>): FieldErrors | null {
  const errors = RULES[table]?.(body) ?? {};
  return Object.keys(errors).length > 0 ? errors : null;
}
