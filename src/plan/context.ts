/**
 * The template context: what every Eta template receives as `it`. Types only.
 *
 * This module and `src/model/types.ts` are the whole template contract: `context.d.ts` in a
 * project's template folder is made from their compiled declarations (src/eject/context-types.ts),
 * so it cannot drift from what templates really get. Keep this module free of other imports.
 */
import type { Entity, OperationGroup, SpecModel } from "../model/types.js";

/** What every template receives as `it`. */
export interface TemplateData {
  /** The whole normalized spec. */
  model: SpecModel;
  settings: PlanSettings;
  /** Set for per-entity templates (`types/entity.ts.eta`, …, and config artifacts with `each: entity`). */
  entity?: Entity;
  /** Set for per-group API templates (`api/group.ts.eta`, and config artifacts with `each: group`). */
  group?: OperationGroup;
}

/** Settings from the config that templates may print. */
export interface PlanSettings {
  /** Base URL of the REST API the client calls by default. */
  apiUrl: string;
  /** Electric shape endpoint, when configured. */
  electricUrl?: string;
}
