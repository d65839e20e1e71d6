using Microsoft.Extensions.Options;

namespace Builtiful.Organisations;

/// <summary>The data annotations on <see cref="OrganisationOptions"/>, checked by generated code; each failure names its key.</summary>
[OptionsValidator]
public sealed partial class OrganisationOptionsValidator : IValidateOptions<OrganisationOptions>;
