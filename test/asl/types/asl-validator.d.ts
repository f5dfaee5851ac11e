// asl-validator 4 ships no type declarations: just what test/asl uses
declare module 'asl-validator' {
  export interface AslValidatorOptions {
    checkPaths?: boolean;
    checkArn?: boolean;
  }

  export interface AslValidatorResult {
    isValid: boolean;
    errors: { message?: string }[];
    errorsText(separator?: string): string;
  }

  /** note: adds fields (QueryLanguage) to the definition it is given; pass a copy */
  function aslValidator(definition: unknown, options?: AslValidatorOptions): AslValidatorResult;
  export = aslValidator;
}
