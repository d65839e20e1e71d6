using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>
/// The data annotations on <see cref="Ec2Options"/> and the sections it validates members of, checked by generated
/// code at start-up; each annotation's message names its configuration key and the values it accepts.
/// </summary>
[OptionsValidator]
public sealed partial class Ec2OptionsValidator : IValidateOptions<Ec2Options>;
