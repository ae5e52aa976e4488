/**
 * Drag-and-drop of files onto the element's drop zone: whether files are being dragged over it
 * (for the highlight) and which files were dropped. It knows nothing of sharing; the host says
 * what a drop does. The template binds the `handle*` listeners to the zone.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class DropController implements ReactiveController {
  /** Whether files are being dragged over the zone. */
  dragging = false;
  /**
   * Enters not yet matched by a leave. Moving onto a child of the zone fires dragenter on the
   * child before dragleave on the zone, so only the leave that brings this to zero means "gone".
   */
  private depth = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly dropped: (files: File[]) => void,
  ) {
    host.addController(this);
  }

  /** A drag that was over the zone when the element left the page never sends its leave. */
  hostDisconnected(): void {
    this.depth = 0;
    this.setDragging(false);
  }

  readonly handleDragEnter = (event: DragEvent): void => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    this.depth++;
    this.setDragging(true);
  };

  readonly handleDragOver = (event: DragEvent): void => {
    if (!carriesFiles(event)) return;
    // Without this the browser refuses the drop (and opens the file itself instead).
    event.preventDefault();
    event.dataTransfer!.dropEffect = 'copy';
    this.setDragging(true);
  };

  readonly handleDragLeave = (): void => {
    this.depth = Math.max(0, this.depth - 1);
    if (this.depth === 0) this.setDragging(false);
  };

  readonly handleDrop = (event: DragEvent): void => {
    event.preventDefault();
    this.depth = 0;
    this.setDragging(false);
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length) this.dropped(files);
  };

  private setDragging(dragging: boolean): void {
    if (dragging === this.dragging) return;
    this.dragging = dragging;
    this.host.requestUpdate();
  }
}

/** Text or a link dragged from the page is not for the drop zone; only files are. */
function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}
