"""Runs in separate processes for the budget concurrency test: each process configures
Django for the given database and tries to start generations as fast as it can."""

import os

MODEL = "higgsfield-ai/soul/standard"
PARAMS = {"prompt": "race", "resolution": "720p", "batch_size": 1}


def _setup(db_env):
    os.environ.update(db_env)
    import django

    django.setup()


def seed(db_env, limit):
    _setup(db_env)
    from generations.models import ProviderAccount
    from higgsweb.models import Budget, Project, User

    users = [User.objects.create_user(f"racer{n}", role=User.Role.MEMBER).pk for n in range(2)]
    project = Project.objects.create(name="Race")
    Budget.objects.create(scope="project", project=project, hard_limit=limit)
    account = ProviderAccount.objects.create(name="race", base_url="http://127.0.0.1:9")
    return users, project.pk, account.pk


def attempt(db_env, user_id, project_id, account_id, attempts):
    """How many of `attempts` starts were let through."""
    _setup(db_env)
    from generations import pipeline
    from generations.models import ProviderAccount
    from higgsweb.ledger import BudgetExceeded
    from higgsweb.models import Project, User

    user, project = User.objects.get(pk=user_id), Project.objects.get(pk=project_id)
    account = ProviderAccount.objects.get(pk=account_id)
    through = 0
    for _ in range(attempts):
        try:
            pipeline.start(owner=user, project=project, model_id=MODEL, params=PARAMS, account=account)
        except BudgetExceeded:
            continue
        through += 1
    return through


def totals(db_env, project_id):
    _setup(db_env)
    from django.db.models import Q, Sum

    from generations.models import Generation
    from higgsweb.models import Budget, LedgerEntry

    budgets = {b.pk: str(b.spent) for b in Budget.objects.all()}
    sums = {pk: str(LedgerEntry.objects.filter(Q(user_budget=pk) | Q(project_budget=pk)).aggregate(
        s=Sum("amount"))["s"]) for pk in budgets}
    return {"generations": Generation.objects.count(), "holds": LedgerEntry.objects.filter(kind="hold").count(),
            "budgets": budgets, "sums": sums,
            "project_spent": str(Budget.objects.get(project_id=project_id).spent)}
