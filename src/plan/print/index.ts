/**
 * The printing module: the model (facts) → the template context (`it`, src/plan/context.ts),
 * adding what templates print as code: SQL text (./sql.ts); TypeScript types, property keys,
 * literals and doc comments (./typescript.ts); and each entity's runtime description
 * (src/model/description.ts). Pure; called once per plan. Templates print only what it gives them.
 */
import { describeEntity } from "../../model/description.js";
import { ENTITY_OBJECT_SUFFIXES } from "../../model/sql-names.js";
import type { Entity, NamedSchema, Operation, OperationGroup, Parameter, SchemaProperty, SpecModel } from "../../model/types.js";
import type { PlanSettings, TemplateData, TemplateEntity, TemplateGroup, TemplateModel, TemplateOperation, TemplateParameter, TemplateSchema, TemplateSchemaProperty } from "../context.js";
import { bookkeepingSql, entitySql, printField, tempKeySql } from "./sql.js";
import { docComment, documentedLiteral, operationDoc, printKey, printTsType, queryStylesLiteral, tsLiteral } from "./typescript.js";


export function printEntity(e: Entity): TemplateEntity {
  const f = printField;
  const { writeIdField, scopeField, tempKey, ...facts } = e;
  const description = describeEntity(e);
  return {
    ...facts,
    doc: docComment(e.doc),
    sql: entitySql(e),
    keyField: f(e.keyField),
    fields: e.fields.map(f),
    syncedFields: e.syncedFields.map(f),
    dataFields: e.dataFields.map(f),
    deviceFields: e.deviceFields.map(f),
    writableFields: e.writableFields.map(f),
    ...(writeIdField ? { writeIdField: f(writeIdField) } : {}),
    ...(scopeField ? { scopeField: f(scopeField) } : {}),
    pathFields: e.pathFields.map(f),
    ...(tempKey ? { tempKey: { kind: tempKey.kind, ...tempKeySql(tempKey.kind, e.keyField) } } : {}),
    description,
    descriptionLiteral: tsLiteral(description),
    descriptionName: `${e.names.camelPlural}Entity`,
  };
}

function printGroup(g: OperationGroup, ops: Map<Operation, TemplateOperation>): TemplateGroup {
  return { ...g, operations: g.operations.map((o) => ops.get(o) ?? printOperation(o)) };
}

function printParameter(p: Parameter): TemplateParameter {
  return { ...p, key: printKey(p.name), doc: docComment(p.doc), tsType: printTsType(p.type) };
}

function printOperation(o: Operation): TemplateOperation {
  const { body, ...rest } = o;
  return {
    ...rest,
    doc: operationDoc(o),
    pathParams: o.pathParams.map(printParameter),
    queryParams: o.queryParams.map(printParameter),
    headerParams: o.headerParams.map(printParameter),
    ...(body ? { body: { ...body, tsType: printTsType(body.type) } } : {}),
    errors: o.errors.map((e) => ({ ...e, documented: documentedLiteral(e.responses), bodyType: printTsType(e.body) })),
    responseType: printTsType(o.response),
    argsType: o.args ? printTsType(o.args) : "",
    queryStyles: queryStylesLiteral(o),
  };
}

function printSchemaProperty(p: SchemaProperty): TemplateSchemaProperty {
  return { ...p, key: printKey(p.name), doc: docComment(p.doc, p.deprecated ? "@deprecated" : undefined), tsType: printTsType(p.type) };
}

/** A named schema with its types printed (`tsType` / `tsWriteType` empty for interfaces). */
export function printSchema(s: NamedSchema): TemplateSchema {
  const { indexType, ...rest } = s;
  return {
    ...rest,
    doc: docComment(s.doc, s.deprecated ? "@deprecated" : undefined),
    properties: s.properties.map(printSchemaProperty),
    writeProperties: s.writeProperties.map(printSchemaProperty),
    ...(indexType ? { indexType: printTsType(indexType) } : {}),
    tsType: s.type ? printTsType(s.type) : "",
    tsWriteType: s.writeType ? printTsType(s.writeType) : "",
  };
}

export function printModel(model: SpecModel): TemplateModel {
  const ops = new Map<Operation, TemplateOperation>(model.operations.map((o) => [o, printOperation(o)]));
  return {
    ...model,
    schemas: model.schemas.map(printSchema),
    entities: model.entities.map(printEntity),
    operations: model.operations.map((o) => ops.get(o)!),
    groups: model.groups.map((g) => printGroup(g, ops)),
  };
}

/** What every template of a plan gets as `it`, before the per-entity / per-group part. */
export function templateBase(model: SpecModel, settings: PlanSettings): TemplateData {
  return { model: printModel(model), settings, sql: bookkeepingSql(), objectSuffixes: { ...ENTITY_OBJECT_SUFFIXES } };
}
