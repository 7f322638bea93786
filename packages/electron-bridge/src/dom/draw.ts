/**
 * drawTo: draws the newest frame of a source into a `<canvas>` on each animation frame.
 *
 * WebGL2 path: one `texSubImage2D` straight from the frame's view (the browser copies it into the
 * texture; no JavaScript copy), then one full-canvas triangle. Row padding is described to GL with
 * UNPACK_ROW_LENGTH / UNPACK_ALIGNMENT (row by row when no pair describes the stride), `bgra8` is
 * swizzled in the shader, `rgb8` and `gray8` are uploaded as RGB8 / R8.
 * 2D path (no WebGL2, or `mode: '2d'`): the frame is copied (and converted) into an ImageData, then
 * `putImageData`: one JavaScript copy per frame.
 *
 * After the upload the frame's `stillValid()` is asked: a frame the writer overwrote meanwhile is
 * counted as torn and not drawn (the canvas keeps the previous frame). The canvas's drawing buffer
 * is sized to the frame (scale it with CSS). The canvas and its context stay the page's: `stop()`
 * releases only what this loop made.
 */
import { codedError, type CodedError } from '../core/errors.js';
import type { DrawController, DrawOptions, DrawStats, FrameSource, FrameView, PixelFormat } from './types.js';

const BYTES_PER_PIXEL: Readonly<Record<PixelFormat, number>> = { rgba8: 4, bgra8: 4, rgb8: 3, gray8: 1 };
/** Shader modes: how the texel becomes a colour. */
const SWIZZLE: Readonly<Record<PixelFormat, number>> = { rgba8: 0, bgra8: 1, rgb8: 2, gray8: 3 };
const MAX_SIDE = 16384;

/** The default clock of `publishedAt`: epoch milliseconds with sub-millisecond resolution. */
function defaultNow(): number {
  return performance.timeOrigin + performance.now();
}

function isByteView(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && (value as Uint8Array).BYTES_PER_ELEMENT === 1 && !(value instanceof DataView);
}

function isPositiveInt(value: unknown, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= max;
}

/** Why a frame cannot be drawn, or null when its fields are usable. */
function frameProblem(frame: FrameView, maxSide: number): string | null {
  const bpp = Object.prototype.hasOwnProperty.call(BYTES_PER_PIXEL, frame.format)
    ? BYTES_PER_PIXEL[frame.format]
    : undefined;
  if (bpp === undefined) return `format must be one of ${Object.keys(BYTES_PER_PIXEL).join(', ')}`;
  if (!isPositiveInt(frame.width, maxSide) || !isPositiveInt(frame.height, maxSide)) {
    return `width and height must be integers in 1..${maxSide} (got ${String(frame.width)}x${String(frame.height)})`;
  }
  if (!Number.isSafeInteger(frame.stride) || frame.stride < frame.width * bpp) {
    return `stride must be an integer >= width * ${bpp} (got ${String(frame.stride)})`;
  }
  if (!isByteView(frame.data)) return 'data must be a Uint8Array';
  const needed = (frame.height - 1) * frame.stride + frame.width * bpp;
  if (frame.data.byteLength < needed) return `data holds ${frame.data.byteLength} bytes, the frame needs ${needed}`;
  if (typeof frame.stillValid !== 'function') return 'stillValid must be a function';
  return null;
}

/** UNPACK_ROW_LENGTH / UNPACK_ALIGNMENT that make GL step `stride` bytes per row, or null (upload row by row). */
export function unpackLayout(stride: number, width: number, bpp: number): { rowLength: number; alignment: number } | null {
  if (stride % bpp === 0) return { rowLength: stride / bpp, alignment: 1 };
  const rowLength = Math.floor(stride / bpp);
  if (rowLength < width) return null;
  for (const alignment of [2, 4, 8]) {
    if (Math.ceil((rowLength * bpp) / alignment) * alignment === stride) return { rowLength, alignment };
  }
  return null;
}

interface Renderer {
  readonly mode: 'webgl2' | '2d';
  readonly maxSide: number;
  /** Takes the frame's pixels (into the texture or the ImageData). */
  upload(frame: FrameView): void;
  /** Shows the last upload on the canvas. */
  draw(): void;
  release(): void;
}

const VERTEX_SHADER = `#version 300 es
out vec2 v_uv;
void main() {
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  v_uv = vec2(p.x, 1.0 - p.y);
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

const FRAGMENT_SHADER = `#version 300 es
precision highp float;
uniform sampler2D u_tex;
uniform int u_mode;
in vec2 v_uv;
out vec4 o_color;
void main() {
  vec4 t = texture(u_tex, v_uv);
  if (u_mode == 1) o_color = t.bgra;
  else if (u_mode == 2) o_color = vec4(t.rgb, 1.0);
  else if (u_mode == 3) o_color = vec4(t.rrr, 1.0);
  else o_color = t;
}`;

class WebGl2Renderer implements Renderer {
  readonly mode = 'webgl2' as const;
  readonly maxSide: number;
  private readonly program: WebGLProgram;
  private readonly vao: WebGLVertexArrayObject;
  private readonly uMode: WebGLUniformLocation | null;
  private texture: WebGLTexture | null = null;
  private textureKey = '';
  private swizzle = 0;

  constructor(private readonly gl: WebGL2RenderingContext) {
    const program = gl.createProgram();
    const vao = gl.createVertexArray();
    if (!program || !vao) throw codedError('ERR_SHM_DRAW_CONTEXT', 'WebGL2 could not create its program (context lost?)');
    for (const [type, source] of [[gl.VERTEX_SHADER, VERTEX_SHADER], [gl.FRAGMENT_SHADER, FRAGMENT_SHADER]] as const) {
      const shader = gl.createShader(type);
      if (!shader) throw codedError('ERR_SHM_DRAW_CONTEXT', 'WebGL2 could not create a shader (context lost?)');
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      gl.attachShader(program, shader);
      gl.deleteShader(shader);
    }
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
      const log = gl.getProgramInfoLog(program);
      gl.deleteProgram(program);
      gl.deleteVertexArray(vao);
      throw codedError('ERR_SHM_DRAW_CONTEXT', `WebGL2 program did not link: ${log ?? 'context lost'}`);
    }
    this.program = program;
    this.vao = vao;
    this.uMode = gl.getUniformLocation(program, 'u_mode');
    this.maxSide = Math.min(MAX_SIDE, Number(gl.getParameter(gl.MAX_TEXTURE_SIZE)) || MAX_SIDE);
  }

  upload(frame: FrameView): void {
    const gl = this.gl;
    const bpp = BYTES_PER_PIXEL[frame.format];
    const [internal, format] =
      frame.format === 'gray8' ? [gl.R8, gl.RED] : frame.format === 'rgb8' ? [gl.RGB8, gl.RGB] : [gl.RGBA8, gl.RGBA];
    const key = `${frame.width}x${frame.height}:${internal}`;
    gl.activeTexture(gl.TEXTURE0);
    if (key !== this.textureKey || !this.texture) {
      if (this.texture) gl.deleteTexture(this.texture);
      this.texture = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, this.texture);
      gl.texStorage2D(gl.TEXTURE_2D, 1, internal, frame.width, frame.height);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      this.textureKey = key;
    } else {
      gl.bindTexture(gl.TEXTURE_2D, this.texture);
    }
    this.swizzle = SWIZZLE[frame.format];
    // The context is the page's too: set every unpack state this upload relies on.
    gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, null);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_SKIP_PIXELS, 0);
    gl.pixelStorei(gl.UNPACK_SKIP_ROWS, 0);
    const layout = unpackLayout(frame.stride, frame.width, bpp);
    if (layout) {
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, layout.alignment);
      gl.pixelStorei(gl.UNPACK_ROW_LENGTH, layout.rowLength);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, frame.width, frame.height, format, gl.UNSIGNED_BYTE, frame.data, 0);
    } else {
      // A stride no (row length, alignment) pair describes: one upload per row, still from the view.
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.pixelStorei(gl.UNPACK_ROW_LENGTH, 0);
      for (let row = 0; row < frame.height; row++) {
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, row, frame.width, 1, format, gl.UNSIGNED_BYTE, frame.data, row * frame.stride);
      }
    }
    gl.pixelStorei(gl.UNPACK_ROW_LENGTH, 0);
  }

  draw(): void {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, gl.drawingBufferWidth, gl.drawingBufferHeight);
    for (const cap of [gl.BLEND, gl.DEPTH_TEST, gl.STENCIL_TEST, gl.SCISSOR_TEST, gl.CULL_FACE]) gl.disable(cap);
    gl.useProgram(this.program);
    gl.bindVertexArray(this.vao);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    gl.uniform1i(this.uMode, this.swizzle);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    gl.bindVertexArray(null);
  }

  release(): void {
    const gl = this.gl;
    if (this.texture) gl.deleteTexture(this.texture);
    this.texture = null;
    this.textureKey = '';
    gl.deleteVertexArray(this.vao);
    gl.deleteProgram(this.program);
  }
}

/** The fallback: one JavaScript copy (with conversion) into an ImageData per frame. */
class Canvas2dRenderer implements Renderer {
  readonly mode = '2d' as const;
  readonly maxSide = MAX_SIDE;
  private image: ImageData | null = null;

  constructor(private readonly ctx: CanvasRenderingContext2D) {}

  upload(frame: FrameView): void {
    const { width, height, stride, data } = frame;
    if (!this.image || this.image.width !== width || this.image.height !== height) {
      this.image = this.ctx.createImageData(width, height);
    }
    const out = this.image.data;
    const rowBytes = width * 4;
    switch (frame.format) {
      case 'rgba8':
        if (stride === rowBytes) {
          out.set(data.subarray(0, rowBytes * height));
        } else {
          for (let y = 0; y < height; y++) out.set(data.subarray(y * stride, y * stride + rowBytes), y * rowBytes);
        }
        break;
      case 'bgra8':
        for (let y = 0; y < height; y++) {
          for (let x = 0, s = y * stride, d = y * rowBytes; x < width; x++, s += 4, d += 4) {
            out[d] = data[s + 2]!;
            out[d + 1] = data[s + 1]!;
            out[d + 2] = data[s]!;
            out[d + 3] = data[s + 3]!;
          }
        }
        break;
      case 'rgb8':
        for (let y = 0; y < height; y++) {
          for (let x = 0, s = y * stride, d = y * rowBytes; x < width; x++, s += 3, d += 4) {
            out[d] = data[s]!;
            out[d + 1] = data[s + 1]!;
            out[d + 2] = data[s + 2]!;
            out[d + 3] = 255;
          }
        }
        break;
      case 'gray8':
        for (let y = 0; y < height; y++) {
          for (let x = 0, s = y * stride, d = y * rowBytes; x < width; x++, s++, d += 4) {
            const v = data[s]!;
            out[d] = v;
            out[d + 1] = v;
            out[d + 2] = v;
            out[d + 3] = 255;
          }
        }
        break;
    }
  }

  draw(): void {
    if (this.image) this.ctx.putImageData(this.image, 0, 0);
  }

  release(): void {
    this.image = null;
  }
}

const GL_ATTRIBUTES: WebGLContextAttributes = {
  alpha: true,
  antialias: false,
  depth: false,
  stencil: false,
  premultipliedAlpha: false,
  preserveDrawingBuffer: false,
};

function contextError(kind: string): CodedError {
  return codedError(
    'ERR_SHM_DRAW_CONTEXT',
    `the canvas gives no ${kind} context (is another kind of context already in use on it, or is WebGL2 unavailable?)`,
  );
}

/**
 * Draws the newest frame of `source` into `canvas` on every animation frame until `stop()`.
 * Throws ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE for bad arguments and ERR_SHM_DRAW_CONTEXT when
 * the canvas has no usable context of the requested kind.
 */
export function drawTo(canvas: HTMLCanvasElement, source: FrameSource, options: DrawOptions = {}): DrawController {
  if (typeof canvas !== 'object' || canvas === null || typeof (canvas as { getContext?: unknown }).getContext !== 'function') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "canvas" argument must be an HTMLCanvasElement', TypeError);
  }
  if (typeof source !== 'object' || source === null || typeof source.latest !== 'function') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "source" argument must have a latest() method', TypeError);
  }
  if (typeof options !== 'object' || options === null) {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an object', TypeError);
  }
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'webgl2' && mode !== '2d') {
    throw codedError('ERR_INVALID_ARG_VALUE', `options.mode must be 'auto', 'webgl2' or '2d' (got ${String(mode)})`);
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'options.now must be a function', TypeError);
  }
  const now = options.now ?? defaultNow;
  const view = canvas.ownerDocument?.defaultView ?? globalThis;

  let gl: WebGL2RenderingContext | null = null;
  let renderer: Renderer | null = null;
  if (mode !== '2d') {
    gl = canvas.getContext('webgl2', GL_ATTRIBUTES);
    if (!gl && mode === 'webgl2') throw contextError('webgl2');
  }
  if (gl) {
    // A context that is lost right now gets its renderer when the browser restores it.
    if (!gl.isContextLost()) renderer = new WebGl2Renderer(gl);
  } else {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw contextError(mode === '2d' ? '2d' : 'webgl2 or 2d');
    renderer = new Canvas2dRenderer(ctx);
  }

  const stats: DrawStats = {
    mode: gl ? 'webgl2' : '2d',
    fps: 0,
    drawn: 0,
    dropped: 0,
    torn: 0,
    invalid: 0,
    latencyMs: null,
    contextLost: gl ? gl.isContextLost() : false,
    lastError: null,
  };
  let lastSeq: number | null = null;
  /** Set when the drawing must be redone even for the same seq (context restored). */
  let redraw = false;
  let fpsStart = performance.now();
  let fpsDrawn = 0;
  let rafId = 0;
  let stopped = false;

  const fail = (code: string, message: string): void => {
    stats.lastError = { code, message };
  };

  // WebGL: preventDefault() on webglcontextlost asks the browser to restore the context (then the GL
  // objects are made again). 2D (Chromium's contextlost/contextrestored): preventDefault() would
  // *forbid* the restore, so it is not called; the context object stays valid across the loss.
  const lostEvent = gl ? 'webglcontextlost' : 'contextlost';
  const restoredEvent = gl ? 'webglcontextrestored' : 'contextrestored';
  const onLost = (event: Event): void => {
    if (gl) {
      event.preventDefault();
      renderer = null; // its GL objects died with the context
    }
    stats.contextLost = true;
  };
  const onRestored = (): void => {
    if (stopped) return;
    try {
      if (gl) renderer = new WebGl2Renderer(gl);
      stats.contextLost = false;
      redraw = true;
    } catch (error) {
      fail((error as CodedError).code ?? 'ERR_SHM_DRAW_CONTEXT', String((error as Error).message));
    }
  };
  canvas.addEventListener(lostEvent, onLost);
  canvas.addEventListener(restoredEvent, onRestored);

  const step = (): void => {
    const r = renderer;
    if (!r || stats.contextLost) return;
    let frame: FrameView | null;
    try {
      frame = source.latest();
    } catch (error) {
      const code = (error as Partial<CodedError> | null)?.code;
      fail(typeof code === 'string' ? code : 'ERR_SHM_DRAW_SOURCE', `source.latest() threw: ${String((error as Error)?.message ?? error)}`);
      return;
    }
    if (frame === null || frame === undefined) return;
    if (typeof frame !== 'object' || !Number.isSafeInteger(frame.seq) || frame.seq < 0) {
      stats.invalid++;
      fail('ERR_INVALID_ARG_VALUE', 'source.latest() returned a frame without a non-negative integer seq');
      return;
    }
    if (frame.seq === lastSeq && !redraw) return;
    if (lastSeq !== null && frame.seq > lastSeq + 1) stats.dropped += frame.seq - lastSeq - 1;
    lastSeq = frame.seq;
    redraw = false;
    const problem = frameProblem(frame, r.maxSide);
    if (problem) {
      stats.invalid++;
      fail('ERR_INVALID_ARG_VALUE', `frame ${frame.seq}: ${problem}`);
      return;
    }
    if (canvas.width !== frame.width) canvas.width = frame.width;
    if (canvas.height !== frame.height) canvas.height = frame.height;
    r.upload(frame);
    let valid = false;
    try {
      valid = frame.stillValid() === true;
    } catch {
      valid = false;
    }
    if (!valid) {
      stats.torn++;
      return;
    }
    if (typeof frame.publishedAt === 'number' && Number.isFinite(frame.publishedAt)) {
      stats.latencyMs = now() - frame.publishedAt;
    }
    r.draw();
    stats.drawn++;
    fpsDrawn++;
  };

  const tick = (): void => {
    if (stopped) return;
    rafId = view.requestAnimationFrame(tick);
    try {
      step();
    } catch (error) {
      // a frame whose fields throw, or an upload the browser refused: reported, the loop goes on
      const code = (error as Partial<CodedError> | null)?.code;
      fail(typeof code === 'string' ? code : 'ERR_SHM_DRAW_SOURCE', `drawing a frame failed: ${String((error as Error)?.message ?? error)}`);
    }
    const t = performance.now();
    if (t - fpsStart >= 1000) {
      stats.fps = (fpsDrawn * 1000) / (t - fpsStart);
      fpsStart = t;
      fpsDrawn = 0;
    }
  };
  rafId = view.requestAnimationFrame(tick);

  return {
    stop(): void {
      if (stopped) return;
      stopped = true;
      view.cancelAnimationFrame(rafId);
      canvas.removeEventListener(lostEvent, onLost);
      canvas.removeEventListener(restoredEvent, onRestored);
      renderer?.release();
      renderer = null;
    },
    get stats(): DrawStats {
      return { ...stats, lastError: stats.lastError ? { ...stats.lastError } : null };
    },
  };
}
