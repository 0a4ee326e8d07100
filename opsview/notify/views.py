"""Settings → Alerts: the chat channels, and the log of every delivery; admins only."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from opsview.notify import services
from opsview.notify.filtersets import EMAIL, DeliveryFilterSet
from opsview.notify.forms import ChannelForm
from opsview.notify.models import Channel, ChannelKind, Delivery, DeliveryStatus
from opsview.workspaces.http import require_admin, safe_next

PAGE_SIZE = 50


@login_required
def channels(request, pk=None):
    """The workspace's chat channels, with a form to add one or change the one at ``pk``."""
    workspace = require_admin(request)
    listing = Channel.objects.visible_to(request.user, workspace)
    instance = get_object_or_404(listing, pk=pk) if pk is not None else Channel(workspace=workspace)
    form = ChannelForm(request.POST or None, instance=instance)
    shown_secret = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            channel, shown_secret = services.save_channel(
                request.user, form.save(commit=False), data["url"], data["secret"], data["new_secret"]
            )
        except services.Refused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"Channel '{channel.name}' saved.")
            if not shown_secret:
                return redirect("alert-channels")
            form = ChannelForm(instance=Channel(workspace=workspace))
            pk = None
    context = {"form": form, "channels": listing, "editing": pk, "shown_secret": shown_secret}
    return render(request, "notify/channels.html", context)


@login_required
@require_POST
def deactivate(request, pk):
    workspace = require_admin(request)
    channel = get_object_or_404(Channel.objects.visible_to(request.user, workspace), pk=pk)
    services.deactivate_channel(request.user, channel)
    messages.success(request, f"Channel '{channel.name}' deactivated; nothing more is sent to it.")
    return redirect("alert-channels")


@login_required
@require_POST
def send_test(request, pk):
    workspace = require_admin(request)
    channel = get_object_or_404(Channel.objects.visible_to(request.user, workspace), pk=pk)
    try:
        delivery = services.send_test(request.user, channel)
    except services.Refused as refusal:
        messages.error(request, str(refusal))
        return redirect("alert-channels")
    if delivery.status == DeliveryStatus.SENT:
        messages.success(request, f"Test message sent to '{channel.name}'.")
    elif delivery.status == DeliveryStatus.PENDING:
        messages.success(request, f"Test message to '{channel.name}' queued; the delivery log shows its answer.")
    else:
        messages.error(request, f"The test message to '{channel.name}' was not delivered: {delivery.last_error}")
    return redirect("alert-deliveries")


@login_required
def deliveries(request):
    """Every message sent: what, to whom, when, its status and last answer; filtered and paginated."""
    workspace = require_admin(request)
    listing = Delivery.objects.visible_to(request.user, workspace).select_related("channel", "user")
    filterset = DeliveryFilterSet(request.GET, listing)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": filterset.asked("status"),
        "channel": filterset.asked("channel"),
        "statuses": DeliveryStatus.choices,
        "channels": Channel.objects.visible_to(request.user, workspace),
        "email": EMAIL,
        "filtered": bool(filterset.asked("status") or filterset.asked("channel")),
        "kinds": ChannelKind,
    }
    return render(request, "notify/deliveries.html", context)


@login_required
@require_POST
def retry(request, pk):
    workspace = require_admin(request)
    delivery = get_object_or_404(Delivery.objects.visible_to(request.user, workspace).select_related("channel"), pk=pk)
    try:
        delivery = services.retry_delivery(request.user, delivery)
    except services.Refused as refusal:
        messages.error(request, str(refusal))
    else:
        if delivery.status == DeliveryStatus.SENT:
            messages.success(request, f"Delivery {delivery.pk} sent to {delivery.recipient}.")
        elif delivery.status == DeliveryStatus.FAILED:
            messages.error(request, f"Delivery {delivery.pk} failed again: {delivery.last_error}")
        else:
            messages.success(request, f"Delivery {delivery.pk} queued to be sent again.")
    return redirect(safe_next(request, "alert-deliveries"))
