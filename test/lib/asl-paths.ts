/**
 * Reading synthesized Step Functions definitions in tests: the template's
 * DefinitionString rendered to ASL (functions' ARNs faked from their logical
 * ids), every States scope with the state that runs it, and the error paths a
 * state can take — through Parallel branches to what follows them, never
 * into a Distributed Map's child executions.
 */

type Cfn = Record<string, unknown>;

/** A State of an ASL definition (the fields these tests read). */
export interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Resource?: string;
  Parameters?: Cfn;
  Choices?: Array<{ Next: string }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  Retry?: Array<{ ErrorEquals: string[] }>;
  Branches?: Array<{ StartAt: string; States: Record<string, State> }>;
  ItemProcessor?: { ProcessorConfig?: { Mode?: string }; StartAt: string; States: Record<string, State> };
  [field: string]: unknown;
}
/** An ASL definition: where it starts and its states. */
export interface Definition { StartAt: string; States: Record<string, State> }

/** The function a logical id names, as an ARN (what the task's Resource resolves to once deployed). */
export const functionArn = (logicalId: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${logicalId}`;

/** A template value as text: joins resolved, functions' ARNs faked from their logical ids. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { 'Fn::Join'?: [string, unknown[]]; 'Fn::GetAtt'?: [string, string]; Ref?: string };
  if (v['Fn::Join']) return v['Fn::Join'][1].map(render).join(v['Fn::Join'][0]);
  if (v['Fn::GetAtt']) return functionArn(v['Fn::GetAtt'][0]);
  if (v.Ref) return `arn:aws:states:eu-west-1:123456789012:stateMachine:${v.Ref}`;
  if ((v as { 'Fn::ImportValue'?: string })['Fn::ImportValue']) return 'imported';
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** Every States object of a definition with the scope that contains it (the parent state that runs it, if any). */
export interface Scope { readonly states: Record<string, State>; readonly parent?: { scope: Scope; name: string } }
export function scopesOf(definition: Definition): Scope[] {
  const scopes: Scope[] = [];
  const visit = (states: Record<string, State>, parent?: Scope['parent']) => {
    const scope: Scope = parent ? { states, parent } : { states };
    scopes.push(scope);
    for (const [name, state] of Object.entries(states)) {
      for (const branch of state.Branches ?? []) visit(branch.States, { scope, name });
      if (state.ItemProcessor) visit(state.ItemProcessor.States, { scope, name });
    }
  };
  visit(definition.States);
  return scopes;
}

/** The states a path can visit from `name` in `scope`: transitions, and past the end of a branch (never a child execution) to its Parallel's next. */
export function successors(scope: Scope, name: string): Array<[Scope, string]> {
  const state = scope.states[name]!;
  const next = [state.Next, state.Default, ...(state.Choices ?? []).map((c) => c.Next)].filter((n): n is string => n !== undefined).map((n): [Scope, string] => [scope, n]);
  const parent = scope.parent;
  if (state.End && parent && parent.scope.states[parent.name]!.Type === 'Parallel') return [...next, ...successors(parent.scope, parent.name).filter(([, n]) => n !== parent.name)];
  return next;
}

/** Whether `start` is a Fail state or some path from it reaches one. */
export const reachesFail = (scope: Scope, start: string) => scope.states[start]!.Type === 'Fail' || leadsTo(scope, start, (s) => s.Type !== 'Fail');

/** Whether some path from `start` visits a state `first` accepts and, after it, a Fail state; `via` must be visited before `first` when given. */
export function leadsTo(scope: Scope, start: string, first: (state: State) => boolean, via?: (state: State) => boolean): boolean {
  const seen = new Set<string>();
  const walk = (s: Scope, name: string, phase: 'via' | 'first' | 'fail'): boolean => {
    const key = `${scopesOfKey(s)}/${name}/${phase}`;
    if (seen.has(key)) return false;
    seen.add(key);
    const state = s.states[name]!;
    let now = phase;
    if (now === 'via' && via!(state)) now = 'first';
    if (now === 'first' && first(state)) return successors(s, name).some(([t, n]) => walk(t, n, 'fail')) || false;
    if (now === 'fail' && state.Type === 'Fail') return true;
    return successors(s, name).some(([t, n]) => walk(t, n, now));
  };
  return walk(scope, start, via ? 'via' : 'first');
}
const scopeKeys = new Map<Scope, number>();
const scopesOfKey = (scope: Scope) => scopeKeys.get(scope) ?? (scopeKeys.set(scope, scopeKeys.size + 1), scopeKeys.get(scope)!);

export const tasksOf = (definition: Definition) => scopesOf(definition).flatMap((scope) => Object.entries(scope.states).filter(([, s]) => s.Type === 'Task').map(([name, state]) => ({ scope, name, state })));
