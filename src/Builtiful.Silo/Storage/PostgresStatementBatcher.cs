using System.Data;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Builtiful.Hosting;
using Npgsql;

namespace Builtiful.Silo.Storage;

/// <summary>
/// Sends the grain storage's statements to PostgreSQL in batches, over a few server connections of its own.
/// </summary>
/// <remarks>
/// <para>Each statement waits in one line; each of its lanes (one per server connection it may open) takes every statement waiting (up to
/// <see cref="MaxBatch"/>), sends them in one round trip on its connection, and answers their callers when the server has
/// answered them all. A quiet silo sends each statement alone, as soon as it comes; under load a lane's next batch is
/// whatever arrived during its last round trip. The server then runs a silo's grain-state reads and writes on as many
/// backends as the silo has lanes, each woken once per batch, and commits a batch once, instead of waking a backend and
/// committing per statement: about half of PostgreSQL's CPU per job (docs/performance.md).</para>
/// <para>Why not Npgsql's multiplexing, which does the same: bounded at a few connections it stops answering for good
/// when a server restart breaks them all under load (Npgsql 10.0.3; unbounded, it opens a backend per concurrent
/// caller). Here a lane opens its connection for each batch from a pool it alone uses, and a broken connection fails that
/// batch's callers and is dropped: the next batch opens a new one, or fails fast while the server is away.</para>
/// <para>A batch is one implicit transaction (one <c>Sync</c>): if a statement in it fails, the server rolled back and
/// skipped the rest, so each statement of the batch is sent again alone and answered on its own. No caller is answered
/// before the server has answered, and committed, its whole batch.</para>
/// </remarks>
public sealed partial class PostgresStatementBatcher : IAsyncDisposable
{
    /// <summary>The most statements a batch holds (a grain-state write carries about a kilobyte).</summary>
    public const int MaxBatch = 64;

    /// <summary>The batcher's meter: batch sizes, failed batches by kind, statements waiting for a lane.</summary>
    public const string MeterName = "Builtiful.Storage";

    private static readonly KeyValuePair<string, object?> Refused = new("kind", "refused");
    private static readonly KeyValuePair<string, object?> Broken = new("kind", "broken");
    private readonly NpgsqlDataSource _database;
    private readonly ILogger _logger;
    private readonly Channel<Statement> _waiting = Channel.CreateUnbounded<Statement>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
    private readonly Task[] _lanes;
    private readonly Histogram<int>? _batchSizes;
    private readonly Counter<long>? _failedBatches;

    /// <param name="connectionString">The cluster's database; its own pool settings are ignored (see <see cref="PostgresDatabase.CreateBatchingDataSource"/>).</param>
    /// <param name="connections">How many lanes, each with at most one server connection open.</param>
    /// <param name="logger">Where refused batches are reported.</param>
    /// <param name="meters">Where the instruments of <see cref="MeterName"/> are created; none without it.</param>
    public PostgresStatementBatcher(string connectionString, int connections, ILogger<PostgresStatementBatcher> logger, IMeterFactory? meters = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        _database = PostgresDatabase.CreateBatchingDataSource(connectionString, connections);
        _logger = logger;
        if (meters?.Create(MeterName) is { } meter)
        {
            _batchSizes = meter.CreateHistogram(
                "builtiful.storage.batch_statements", "{statement}", "Grain-state statements sent to PostgreSQL in one round trip, per batch.",
                tags: null, advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64] });
            _failedBatches = meter.CreateCounter<long>(
                "builtiful.storage.failed_batches", "{batch}",
                "Batches that did not all succeed, by kind: refused (the server refused a statement; in a batch of several, each was then sent again alone) or broken (no connection, or it broke or timed out: every statement of the batch failed).");
            meter.CreateObservableGauge(
                "builtiful.storage.statements_waiting", () => _waiting.Reader.Count, "{statement}", "Grain-state statements waiting for a lane.");
        }

        _lanes = [.. Enumerable.Range(0, connections).Select(_ => Task.Run(RunLaneAsync))];
    }

    /// <summary>
    /// Runs a statement that answers at most one row: either (payload <c>bytea</c>, version <c>integer</c>) or (version
    /// <c>integer</c>). Answers the row, <see cref="StoredRow.None"/> when there is none, or the statement's failure.
    /// </summary>
    public Task<StoredRow> RunAsync(NpgsqlBatchCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var statement = new Statement(command);
        if (!_waiting.Writer.TryWrite(statement))
        {
            throw new ObjectDisposedException(nameof(PostgresStatementBatcher), "The grain storage's PostgreSQL batcher has stopped: the silo is shutting down.");
        }

        return statement.Task;
    }

    private async Task RunLaneAsync()
    {
        var batch = new List<Statement>(MaxBatch);
        var reader = _waiting.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxBatch && reader.TryRead(out var statement))
            {
                batch.Add(statement);
            }

            if (batch.Count > 0)
            {
                await RunBatchAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }
    }

    /// <summary>Answers every statement of the batch, whatever happens: this is a lane's whole life, so it never throws.</summary>
    private async Task RunBatchAsync(List<Statement> batch)
    {
        NpgsqlConnection? connection = null;
        try
        {
            connection = await _database.OpenConnectionAsync().ConfigureAwait(false);
            _batchSizes?.Record(batch.Count);
            StoredRow[] rows;
            try
            {
                rows = await ExecuteAsync(connection, batch).ConfigureAwait(false);
            }
            catch (PostgresException e) when (batch.Count > 1 && connection.FullState == ConnectionState.Open)
            {
                // One statement failed: the batch's transaction rolled back and its later statements were skipped.
                _failedBatches?.Add(1, Refused);
                LogBatchRefused(_logger, e, batch.Count, e.SqlState);
                await RunEachAloneAsync(connection, batch).ConfigureAwait(false);
                return;
            }

            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].TrySetResult(rows[i]);
            }
        }
        catch (Exception e)
        {
            // A statement alone that the server refused, or the server is away or the connection broke mid-batch
            // (committed or not is unknown): every caller hears so.
            _failedBatches?.Add(1, e is PostgresException && connection?.FullState == ConnectionState.Open ? Refused : Broken);
            foreach (var statement in batch)
            {
                statement.TrySetException(e);
            }
        }
        finally
        {
            if (connection is not null)
            {
                try
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // Its callers are answered; the lane goes on, and the pool drops a connection it could not close.
                    LogNotClosed(_logger, e);
                }
            }
        }
    }

    /// <summary>Sends each statement of a refused batch again in a round trip of its own, so each is answered on its own.</summary>
    private static async Task RunEachAloneAsync(NpgsqlConnection connection, List<Statement> batch)
    {
        foreach (var statement in batch)
        {
            try
            {
                statement.TrySetResult((await ExecuteAsync(connection, [statement]).ConfigureAwait(false))[0]);
            }
            catch (Exception e)
            {
                statement.TrySetException(e);
            }
        }
    }

    /// <summary>Sends the statements in one round trip and reads every answer, up to the server's end of the batch.</summary>
    private static async Task<StoredRow[]> ExecuteAsync(NpgsqlConnection connection, List<Statement> statements)
    {
        await using var batch = new NpgsqlBatch(connection);
        foreach (var statement in statements)
        {
            batch.BatchCommands.Add(statement.Command);
        }

        try
        {
            var rows = new StoredRow[statements.Count];
            await using (var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false))
            {
                var i = 0;
                do
                {
                    rows[i++] = await ReadRowAsync(reader).ConfigureAwait(false);
                }
                while (await reader.NextResultAsync().ConfigureAwait(false));
            }

            // The reader is closed: the server has answered the batch's end, so its transaction is committed.
            return rows;
        }
        finally
        {
            // A statement sent again alone goes into a batch of its own.
            batch.BatchCommands.Clear();
        }
    }

    private static async Task<StoredRow> ReadRowAsync(NpgsqlDataReader reader)
    {
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            return StoredRow.None;
        }

        return reader.FieldCount == 2
            ? new StoredRow(reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0), reader.GetInt32(1))
            : new StoredRow(null, reader.IsDBNull(0) ? null : reader.GetInt32(0));
    }

    /// <summary>Stops taking statements, answers every statement already taken, then closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_waiting.Writer.TryComplete())
        {
            await Task.WhenAll(_lanes).ConfigureAwait(false);
            await _database.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL refused a batch of {Count} grain-storage statements (SQLSTATE {SqlState}): sending each alone")]
    private static partial void LogBatchRefused(ILogger logger, Exception exception, int count, string sqlState);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A grain-storage connection to PostgreSQL could not be closed after its batch")]
    private static partial void LogNotClosed(ILogger logger, Exception exception);

    private sealed class Statement(NpgsqlBatchCommand command) : TaskCompletionSource<StoredRow>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public NpgsqlBatchCommand Command { get; } = command;
    }
}

/// <summary>A grain state's row as a statement answered it: the payload (null when none, or not asked) and the version (null when no row).</summary>
public readonly record struct StoredRow(byte[]? Payload, int? Version)
{
    public static StoredRow None => default;
}
