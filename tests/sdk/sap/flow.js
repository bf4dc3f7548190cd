'use strict';
// The official SAP Job Scheduling client (@sap/jobs-client) against jobmock, used as its users
// use it: only the base URL and the token differ from a real service binding.
//
//   node flow.js <server-url> <token> <wrong-token>
//
// <server-url> is the mock's root (http://127.0.0.1:PORT); the SAP API is served under /sap
// and the client appends /scheduler itself. <token> is a JWT the mock accepts (jobmock token
// sap), valid for more than five minutes (the client refuses to use a token closer to expiry);
// <wrong-token> is one signed with another secret. Prints one JSON document: what each call
// returned, or, for the calls expected to fail, the error's message and statusCode.

const { Scheduler } = require('@sap/jobs-client');

const [server, token, wrongToken] = process.argv.slice(2);
if (!server || !token || !wrongToken) {
    console.error('usage: node flow.js <server-url> <token> <wrong-token>');
    process.exit(2);
}

const baseURL = server.replace(/\/+$/, '') + '/sap';
const scheduler = new Scheduler({ baseURL, token, timeout: 10000 });
const outsider = new Scheduler({ baseURL, token: wrongToken, timeout: 10000 });

// The client's methods take (options, callback); this is how callers usually wrap them.
function call(client, method, options) {
    return new Promise((resolve, reject) => {
        client[method](options, (error, result) => (error ? reject(error) : resolve(result)));
    });
}

// A call that must fail: what the client's error carries.
async function failure(client, method, options) {
    try {
        const result = await call(client, method, options);
        return { unexpectedResult: result };
    } catch (error) {
        return { name: error.name, message: error.message, statusCode: error.statusCode };
    }
}

async function main() {
    const out = {};
    const job = {
        name: 'processSalaries',
        description: 'long-running salary processing',
        action: 'https://payroll.example.com/jobs/salaries',
        active: true,
        httpMethod: 'POST',
        schedules: [{ time: 'now', active: true, description: 'run once, now',
                      data: { month: '2024-05' } }]
    };
    out.created = await call(scheduler, 'createJob', { job });
    const jobId = out.created._id;
    const scheduleId = out.created.schedules[0].scheduleId;

    out.addedSchedule = await call(scheduler, 'createJobSchedule', {
        jobId, schedule: { cron: '* * * * * */10 0', active: false, description: 'every 10 h' }
    });
    out.fetched = await call(scheduler, 'fetchJob', { jobId, displaySchedules: true });
    out.fetchedByName = await call(scheduler, 'fetchJob', { name: job.name });
    out.jobs = await call(scheduler, 'fetchJobs', { page_size: 10, offset: 0 });

    out.runLogs = await call(scheduler, 'getRunLogs', { jobId, scheduleId });
    const runId = out.runLogs.results[0].runId;
    out.runBefore = await call(scheduler, 'getRunLogsById', { jobId, scheduleId, runId });
    out.updated = await call(scheduler, 'updateJobRunLog', {
        jobId, scheduleId, runId,
        data: { success: true, message: 'Long running operation to process employee salaries succeeded' }
    });
    out.runAfter = await call(scheduler, 'getRunLogsById', { jobId, scheduleId, runId });
    out.runLogsAfter = await call(scheduler, 'getRunLogs', { jobId, scheduleId, page_size: 5 });

    out.errors = {
        missingRun: await failure(scheduler, 'getRunLogsById',
            { jobId, scheduleId, runId: '00000000-0000-4000-8000-000000000000' }),
        duplicateName: await failure(scheduler, 'createJob', { job }),
        invalidJob: await failure(scheduler, 'createJob',
            { job: { name: 'noAction', description: 'no action URL', active: true, httpMethod: 'POST',
                    schedules: [] } }),
        wrongToken: await failure(outsider, 'fetchJob', { jobId })
    };

    out.deleted = await call(scheduler, 'deleteJob', { jobId });
    out.errors.deletedJob = await failure(scheduler, 'fetchJob', { jobId });
    return out;
}

main().then(
    (out) => { process.stdout.write(JSON.stringify(out, null, 2) + '\n'); },
    (error) => {
        process.stdout.write(JSON.stringify({ fatal: { name: error.name, message: error.message,
                                                        statusCode: error.statusCode } }) + '\n');
        process.exitCode = 1;
    }
);
