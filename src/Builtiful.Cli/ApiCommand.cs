using System.CommandLine;
using System.Net.Http;

namespace Builtiful.Cli;

/// <summary>What a command's action gets: the parsed line, a client for the admin API, and where to write.</summary>
public sealed class ApiContext(ParseResult parse, CliOptions options, AdminClient client, CancellationToken cancellationToken)
{
    public ParseResult Parse { get; } = parse;

    public AdminClient Client { get; } = client;

    public TextWriter Output => Parse.InvocationConfiguration.Output;

    public TextWriter Error => Parse.InvocationConfiguration.Error;

    public bool Json => Parse.GetValue(options.Json);

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public T? Value<T>(Option<T> option) => Parse.GetValue(option);

    public T? Value<T>(Argument<T> argument) => Parse.GetValue(argument);

    /// <summary>Prints an API refusal and returns the exit code for it.</summary>
    public int Fail(ApiAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        Error.WriteLine(answer.Describe());
        return ExitCodes.Failed;
    }

    /// <summary>Raw JSON, indented, for <c>--json</c> and for anything without a table.</summary>
    public int PrintJson(ApiAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        Output.WriteLine(System.Text.Json.JsonSerializer.Serialize(answer.Json, IndentedJson));
        return ExitCodes.Ok;
    }

    private static readonly System.Text.Json.JsonSerializerOptions IndentedJson = new() { WriteIndented = true };
}

public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The API refused or failed, or could not be reached.</summary>
    public const int Failed = 1;
    /// <summary>The command line or the configuration is wrong.</summary>
    public const int Usage = 2;
}

/// <summary>Wraps an admin-API action: builds the client from the global options and turns transport failures into a message and exit code.</summary>
public static class ApiCommand
{
    public static void SetApiAction(this Command command, CliOptions options, Func<ApiContext, Task<int>> action)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (options.BaseUrl(parse) is not { } baseUrl)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("--url must be an absolute http:// or https:// URL, e.g. " + CliOptions.DefaultUrl);
                return ExitCodes.Usage;
            }

            using var client = new AdminClient(baseUrl, options.AdminToken(parse));
            try
            {
                return await action(new ApiContext(parse, options, client, cancellationToken));
            }
            catch (HttpRequestException ex)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"Cannot reach Builtiful at {baseUrl}: {ex.Message}");
                return ExitCodes.Failed;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync($"Builtiful at {baseUrl} did not answer in time.");
                return ExitCodes.Failed;
            }
        });
    }
}
